import Foundation
import Neural
import Testing

/// The schedule each schedules_extra.json case was produced with (SGD, base rate 0.2).
private func paritySchedule(_ name: String) -> LRSchedule {
    switch name {
    case "multistep": return .multiStep(milestones: [150, 30, 80, 80], gamma: 0.5)
    case "multistep_default": return .multiStep(milestones: [50, 100])
    case "warm_restarts": return .cosineWarmRestarts(period: 10, periodMultiplier: 2, minimum: 0.01)
    case "warm_restarts_flat": return .cosineWarmRestarts(period: 25)
    case "onecycle": return .oneCycle(totalSteps: 200, maxLearningRate: 0.5)
    case "onecycle_linear_three_phase":
        return .oneCycle(totalSteps: 200, maxLearningRate: 0.5, pctStart: 0.25, annealStrategy: .linear, divFactor: 10,
                         finalDivFactor: 100, threePhase: true)
    case "onecycle_cos_three_phase": return .oneCycle(totalSteps: 200, maxLearningRate: 0.3, pctStart: 0.4, threePhase: true)
    default: fatalError("unknown schedule case \(name)")
    }
}

/// The plateau schedule of each schedules_extra.json plateau case.
private func parityPlateau(_ name: String) -> ReduceLROnPlateau {
    switch name {
    case "plateau_min_rel": return ReduceLROnPlateau(factor: 0.5, patience: 5, cooldown: 3, minimumLearningRate: 0.004)
    case "plateau_max_abs":
        return ReduceLROnPlateau(mode: .max, factor: 0.3, patience: 3, threshold: 0.02, thresholdMode: .abs, minimumLearningRate: 1e-3)
    case "plateau_default": return ReduceLROnPlateau()
    default: fatalError("unknown plateau case \(name)")
    }
}

@Suite("MultiStep, cosine warm restarts, OneCycle and ReduceLROnPlateau against torch.optim.lr_scheduler")
struct ScheduleParityTests {
    static var fixture: TorchFixture { TorchFixture.load("schedules_extra") }

    @Test(arguments: ["multistep", "multistep_default", "warm_restarts", "warm_restarts_flat", "onecycle",
                      "onecycle_linear_three_phase", "onecycle_cos_three_phase"])
    func learningRateAtEveryStepMatchesPyTorch(_ name: String) {
        let expected = Self.fixture.case(name).tensor("lr").scalars(as: Double.self)
        #expect(expected.count == 200)
        let opt = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2, schedule: paritySchedule(name))
        var worst = 0.0
        for lr in expected {
            worst = max(worst, abs(opt.currentLearningRate - lr))
            opt.step()
        }
        #expect(worst <= 1e-12, "\(name): learning rate differs from torch by up to \(worst)")
    }

    @Test(arguments: ["plateau_min_rel", "plateau_max_abs", "plateau_default"])
    func plateauLearningRateAtEveryStepMatchesPyTorch(_ name: String) {
        let c = Self.fixture.case(name)
        let expected = c.tensor("lr").scalars(as: Double.self), metrics = c.tensor("metric").scalars(as: Double.self)
        let opt = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2)
        var plateau = parityPlateau(name)
        var reductions = 0
        for t in 0..<200 {
            // (The JSON reader may round the last bit: compare to 1e-14 relative.)
            #expect(abs(opt.currentLearningRate - expected[t]) <= 1e-14 * expected[t],
                    "\(name) step \(t): \(opt.currentLearningRate) vs \(expected[t])")
            plateau.step(metric: metrics[t], optimizer: opt)
            if t > 0 && expected[t] != expected[t - 1] { reductions += 1 }
        }
        #expect(reductions >= 2, "the fixture should reduce more than once")
    }

    @Test func plateauStateRoundTripsThroughJSONAndResumesExactly() throws {
        let metrics = Self.fixture.case("plateau_min_rel").tensor("metric").scalars(as: Double.self)
        let straight = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2)
        var uninterrupted = parityPlateau("plateau_min_rel")
        var expected: [Double] = []
        for t in 0..<200 {
            expected.append(straight.currentLearningRate)
            uninterrupted.step(metric: metrics[t], optimizer: straight)
        }
        let first = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2)
        var plateau = parityPlateau("plateau_min_rel")
        for t in 0..<97 { plateau.step(metric: metrics[t], optimizer: first) }
        #expect(Set(expected[97...]).count > 1, "the rate should still change after the save")
        let data = try JSONEncoder().encode(plateau.state)
        let decoded = try JSONDecoder().decode(ReduceLROnPlateau.State.self, from: data)
        #expect(decoded == plateau.state)
        // A fresh optimizer and schedule, restored, continue exactly.
        let second = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2)
        var resumed = parityPlateau("plateau_min_rel")
        resumed.restore(decoded, optimizer: second)
        for t in 97..<200 {
            #expect(second.currentLearningRate.bitPattern == expected[t].bitPattern)
            resumed.step(metric: metrics[t], optimizer: second)
        }
    }

    @Test func plateauLowersEveryGroupButNotBelowTheMinimum() {
        let opt = SGD([ParameterGroup([Parameter(Tensor.zeros([1]))]), ParameterGroup([Parameter(Tensor.zeros([1]))], learningRate: 0.01)],
                      learningRate: 0.1)
        var plateau = ReduceLROnPlateau(factor: 0.5, patience: 0, minimumLearningRate: 0.008)
        plateau.step(metric: 1, optimizer: opt)
        plateau.step(metric: 1, optimizer: opt)
        #expect(opt.groupLearningRates == [0.05, 0.008])
        plateau.step(metric: 2, optimizer: opt)
        #expect(opt.groupLearningRates == [0.025, 0.008])
        #expect(plateau.state.learningRates == [0.025, 0.008])
    }

    @Test func oneCycleUsesEachGroupsRateAsItsPeakWithoutMaxLearningRate() {
        let s = LRSchedule.oneCycle(totalSteps: 100)
        #expect(abs(s.learningRate(at: 0, base: 0.5) - 0.02) < 1e-15)
        #expect(abs(s.learningRate(at: 29, base: 0.5) - 0.5) < 1e-15)
        #expect(abs(s.learningRate(at: 99, base: 0.5) - 0.02 / 1e4) < 1e-15)
        #expect(s.learningRate(at: 500, base: 0.5) == s.learningRate(at: 100, base: 0.5))
    }

    @Test func schedulesResumeExactlyFromTheOptimizersStepCount() {
        for name in ["multistep", "warm_restarts", "onecycle_linear_three_phase"] {
            let p = Parameter(Tensor.zeros([1], dtype: .float64))
            let straight = SGD([p], learningRate: 0.2, schedule: paritySchedule(name))
            for _ in 0..<120 { p.value.grad = Tensor([1], dtype: .float64); straight.step() }
            let q = Parameter(Tensor.zeros([1], dtype: .float64))
            let first = SGD([q], learningRate: 0.2, schedule: paritySchedule(name))
            for _ in 0..<57 { q.value.grad = Tensor([1], dtype: .float64); first.step() }
            let r = Parameter(q.value.detached())
            let second = SGD([r], learningRate: 0.2, schedule: paritySchedule(name))
            second.state = first.state
            for _ in 57..<120 { r.value.grad = Tensor([1], dtype: .float64); second.step() }
            expectBitIdentical(r.value.detached(), p.value.detached())
            #expect(second.currentLearningRate == straight.currentLearningRate)
        }
    }
}

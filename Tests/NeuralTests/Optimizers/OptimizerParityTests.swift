import Foundation
import Neural
import Testing

/// The fixture's problem (optimizers.py and optimizers_extra.py): W [3, 4], b [3],
/// loss = MSE(x Wᵀ + b, y) + 0.01 Σ W⁴.
private func parityLoss(_ w: Parameter, _ b: Parameter, _ x: Tensor, _ y: Tensor) -> Tensor {
    mseLoss(x.matmul(w.value.transposed()) + b.value, y) + w.value.pow(4).sum() * 0.01
}

/// The optimiser each optimizers_extra.json trajectory was produced with, over W and b.
private func makeParityOptimizer(_ name: String, _ w: Parameter, _ b: Parameter) -> Optimizer {
    let p = [w, b]
    switch name {
    case "adagrad": return Adagrad(p, learningRate: 0.1)
    case "adagrad_options":
        return Adagrad(p, learningRate: 0.1, learningRateDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1, epsilon: 1e-6)
    case "nadam": return NAdam(p, learningRate: 0.01)
    case "nadam_options": return NAdam(p, learningRate: 0.02, beta1: 0.8, beta2: 0.99, weightDecay: 0.01, momentumDecay: 0.01)
    case "nadam_decoupled": return NAdam(p, learningRate: 0.02, weightDecay: 0.1, decoupledWeightDecay: true)
    case "radam": return RAdam(p, learningRate: 0.01)
    case "radam_options": return RAdam(p, learningRate: 0.02, beta1: 0.85, beta2: 0.98, weightDecay: 0.01)
    case "radam_decoupled": return RAdam(p, learningRate: 0.02, weightDecay: 0.1, decoupledWeightDecay: true)
    case "adam_amsgrad": return Adam(p, learningRate: 0.05, beta2: 0.99, weightDecay: 0.01, amsgrad: true)
    case "adamw_amsgrad": return AdamW(p, learningRate: 0.05, beta2: 0.99, weightDecay: 0.1, amsgrad: true)
    case "adamw_groups":
        return AdamW([ParameterGroup([w], weightDecay: 0.1), ParameterGroup([b], learningRate: 0.01, weightDecay: 0)], learningRate: 0.05)
    case "sgd_groups":
        return SGD([ParameterGroup([w]), ParameterGroup([b], learningRate: 0.02, weightDecay: 0)],
                   learningRate: 0.1, momentum: 0.9, weightDecay: 0.05)
    case "radam_groups":
        return RAdam([ParameterGroup([w], learningRate: 0.03), ParameterGroup([b], weightDecay: 0.2)],
                     learningRate: 0.01, weightDecay: 0.01, decoupledWeightDecay: true)
    default: fatalError("unknown optimizer case \(name)")
    }
}

private let parityCases = ["adagrad", "adagrad_options", "nadam", "nadam_options", "nadam_decoupled", "radam", "radam_options",
                           "radam_decoupled", "adam_amsgrad", "adamw_amsgrad", "adamw_groups", "sgd_groups", "radam_groups"]

@Suite("Adagrad, NAdam, RAdam, AMSGrad and parameter groups against torch.optim")
struct OptimizerParityTests {
    static var fixture: TorchFixture { TorchFixture.load("optimizers_extra") }

    /// Runs `steps` steps of `opt` on the fixture problem.
    private func train(_ opt: Optimizer, _ w: Parameter, _ b: Parameter, _ c: TorchFixture.Case, steps: Int,
                       check: ((Int) -> Void)? = nil) {
        for k in 0..<steps {
            opt.zeroGrad()
            parityLoss(w, b, c.tensor("x"), c.tensor("y")).backward()
            opt.step()
            check?(k + 1)
        }
    }

    @Test(arguments: parityCases)
    func fiftyStepTrajectoryMatchesPyTorch(_ name: String) {
        let c = Self.fixture.case(name)
        let w = Parameter(c.tensor("W0")), b = Parameter(c.tensor("b0"))
        var worst = 0.0
        train(makeParityOptimizer(name, w, b), w, b, c, steps: c.int("steps")) { k in
            worst = max(worst, maxAbsDifference(w.value, c.tensor("W\(k)")), maxAbsDifference(b.value, c.tensor("b\(k)")))
        }
        #expect(c.int("steps") == 50)
        #expect(worst <= 1e-10, "\(name): trajectory differs from torch by \(worst)")
        print("\(name) vs torch over 50 steps: max |difference| \(worst)")
    }

    @Test(arguments: parityCases)
    func stateResumesBitForBitMidRun(_ name: String) {
        let c = Self.fixture.case(name)
        let w1 = Parameter(c.tensor("W0")), b1 = Parameter(c.tensor("b0"))
        train(makeParityOptimizer(name, w1, b1), w1, b1, c, steps: 20)
        let w2 = Parameter(c.tensor("W0")), b2 = Parameter(c.tensor("b0"))
        let first = makeParityOptimizer(name, w2, b2)
        train(first, w2, b2, c, steps: 11)
        let w3 = Parameter(w2.value.detached()), b3 = Parameter(b2.value.detached())
        let second = makeParityOptimizer(name, w3, b3)
        second.state = first.state
        train(second, w3, b3, c, steps: 9)
        expectBitIdentical(w3.value.detached(), w1.value.detached())
        expectBitIdentical(b3.value.detached(), b1.value.detached())
    }

    @Test func float32TrajectoriesStayCloseToFloat64() {
        for name in ["adagrad_options", "nadam_options", "radam_options", "adamw_amsgrad"] {
            let c = Self.fixture.case(name)
            let w = Parameter(c.tensor("W0").to(.float32)), b = Parameter(c.tensor("b0").to(.float32))
            let opt = makeParityOptimizer(name, w, b)
            for _ in 0..<10 {
                opt.zeroGrad()
                parityLoss(w, b, c.tensor("x").to(.float32), c.tensor("y").to(.float32)).backward()
                opt.step()
            }
            let d = maxAbsDifference(w.value.to(.float64), c.tensor("W10"))
            #expect(d <= 1e-5, "\(name): Float32 after 10 steps differs by \(d)")
        }
    }

    @Test func clipGradValueMatchesPyTorch() {
        let c = Self.fixture.case("clip_grad_value")
        let p1 = Parameter(Tensor.zeros([3, 4], dtype: .float64)), p2 = Parameter(Tensor.zeros([5], dtype: .float64))
        p1.value.grad = c.tensor("g1")
        p2.value.grad = c.tensor("g2")
        clipGradValue([p1, p2], maxValue: c.double("clip_value"))
        expectBitIdentical(p1.grad!, c.tensor("clipped1"))
        expectBitIdentical(p2.grad!, c.tensor("clipped2"))
        #expect(c.tensor("g1").scalars(as: Double.self).contains { abs($0) > 0.5 })   // the fixture does clip
        let nan = Parameter(Tensor.zeros([2], dtype: .float32))
        nan.value.grad = Tensor([Double.nan, -3] as [Double], dtype: .float32)
        clipGradValue([nan], maxValue: 1)
        let g = nan.grad!.scalars(as: Double.self)
        #expect(g[0].isNaN && g[1] == -1)
    }

    @Test func decayAndNoDecaySplitsByRankAndKeepsTheOrder() {
        let model = Sequential([Linear(3, 4), LayerNorm([4]), Linear(4, 2)])
        let groups = ParameterGroup.decayAndNoDecay(model.parameters)
        #expect(groups.count == 2)
        #expect(groups[0].parameters.map(\.shape) == [[4, 3], [2, 4]])
        #expect(groups[1].parameters.map(\.shape) == [[4], [4], [4], [2]])
        #expect(groups[0].weightDecay == nil && groups[1].weightDecay == 0)
        let opt = AdamW(groups, learningRate: 1e-3, weightDecay: 0.1)
        #expect(opt.parameters.count == 6 && opt.groups.count == 2 && opt.baseWeightDecay == 0.1)
        // A bias with a zero gradient is not decayed; a weight matrix with a zero gradient is.
        for p in model.parameters { p.value.grad = Tensor.zeros(like: p.value) }
        let weight = groups[0].parameters[0].value.detached(), bias = groups[1].parameters[0].value.detached()
        opt.step()
        expectBitIdentical(groups[1].parameters[0].value.detached(), bias)
        #expect(maxAbsDifference(groups[0].parameters[0].value.detached(), weight * (1 - 1e-4)) < 1e-6)
    }

    @Test func groupLearningRatesFollowTheScheduleAndCanBeSet() {
        let a = Parameter(Tensor.zeros([2], dtype: .float64)), b = Parameter(Tensor.zeros([2], dtype: .float64))
        let opt = SGD([ParameterGroup([a]), ParameterGroup([b], learningRate: 0.5)], learningRate: 0.1, schedule: .step(every: 1, gamma: 0.5))
        #expect(opt.groupLearningRates == [0.1, 0.5])
        #expect(opt.currentLearningRates == [0.1, 0.5])
        a.value.grad = Tensor([1, 1], dtype: .float64)
        b.value.grad = Tensor([1, 1], dtype: .float64)
        opt.step()
        #expect(a.value.scalars(as: Double.self) == [-0.1, -0.1] && b.value.scalars(as: Double.self) == [-0.5, -0.5])
        #expect(opt.currentLearningRates == [0.05, 0.25])
        opt.groupLearningRates = [0.2, 0.4]
        #expect(opt.currentLearningRate == 0.1)
    }
}

import Neural
import Testing

/// The fixture's problem: W [3, 4], b [3], loss = MSE(x Wᵀ + b, y) + 0.01 Σ W⁴.
private func fixtureLoss(_ w: Parameter, _ b: Parameter, _ x: Tensor, _ y: Tensor) -> Tensor {
    mseLoss(x.matmul(w.value.transposed()) + b.value, y) + w.value.pow(4).sum() * 0.01
}

/// The optimiser each fixture case was produced with.
private func makeOptimizer(_ name: String, _ params: [Parameter]) -> Optimizer {
    switch name {
    case "sgd": return SGD(params, learningRate: 0.1)
    case "sgd_momentum": return SGD(params, learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01)
    case "sgd_nesterov": return SGD(params, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
    case "adam": return Adam(params, learningRate: 0.05, beta2: 0.99, weightDecay: 0.01)
    case "adamw": return AdamW(params, learningRate: 0.05, beta2: 0.99, weightDecay: 0.1)
    case "rmsprop": return RMSProp(params, learningRate: 0.01, weightDecay: 0.01)
    case "rmsprop_centered_momentum":
        return RMSProp(params, learningRate: 0.01, smoothing: 0.9, weightDecay: 0.01, momentum: 0.5, centered: true)
    case "adam_warmup_cosine":
        return Adam(params, learningRate: 0.05,
                    schedule: .linear(from: 0.25, to: 1, steps: 2).then(.cosine(steps: 4, minimum: 0.001), after: 2))
    default: fatalError("unknown optimizer case \(name)")
    }
}

private let trajectoryCases = ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop",
                               "rmsprop_centered_momentum", "adam_warmup_cosine"]

@Suite("Optimizers (eq. 7.8–7.10) against torch.optim")
struct OptimizerTests {
    static var fixture: TorchFixture { TorchFixture.load("optimizers") }

    @Test(arguments: trajectoryCases)
    func optimizerTrajectoryMatchesPyTorch(_ name: String) {
        let c = Self.fixture.case(name)
        let w = Parameter(c.tensor("W0")), b = Parameter(c.tensor("b0"))
        let x = c.tensor("x"), y = c.tensor("y")
        let opt = makeOptimizer(name, [w, b])
        let lrs = c.tensor("lr").scalars(as: Double.self)
        var worst = 0.0
        for k in 1...c.int("steps") {
            opt.zeroGrad()
            fixtureLoss(w, b, x, y).backward()
            #expect(abs(opt.currentLearningRate - lrs[k - 1]) <= 1e-15)
            opt.step()
            worst = max(worst, maxAbsDifference(w.value, c.tensor("W\(k)")), maxAbsDifference(b.value, c.tensor("b\(k)")))
        }
        #expect(worst <= 1e-9, "\(name): trajectory differs from torch by \(worst)")
        print("\(name) vs torch: max |difference| \(worst)")
    }

    @Test(arguments: [
        ("schedule_step", LRSchedule.step(every: 3, gamma: 0.5)),
        ("schedule_exponential", .exponential(gamma: 0.9)),
        ("schedule_cosine", .cosine(steps: 10, minimum: 0.01)),
        ("schedule_linear", .linear(from: 0.1, to: 1, steps: 5)),
        ("schedule_warmup_cosine", .linearWarmup(steps: 4, startFactor: 0.1).then(.cosine(steps: 8), after: 4)),
    ] as [(String, LRSchedule)])
    func scheduleMatchesPyTorch(_ name: String, _ schedule: LRSchedule) {
        let expected = Self.fixture.case(name).tensor("lr").scalars(as: Double.self)
        let opt = SGD([Parameter(Tensor.zeros([1], dtype: .float64))], learningRate: 0.2, schedule: schedule)
        for (t, lr) in expected.enumerated() {
            #expect(abs(opt.currentLearningRate - lr) <= 1e-12, "\(name) step \(t): \(opt.currentLearningRate) vs \(lr)")
            opt.step()
        }
    }

    @Test func clipGradNormMatchesPyTorch() {
        let c = Self.fixture.case("clip_grad_norm")
        let p1 = Parameter(Tensor.zeros([3, 4], dtype: .float64)), p2 = Parameter(Tensor.zeros([5], dtype: .float64))
        p1.value.grad = c.tensor("g1")
        p2.value.grad = c.tensor("g2")
        let norm = clipGradNorm([p1, p2], maxNorm: c.double("max_norm"))
        #expect(abs(norm - c.tensor("norm").item()) <= 1e-12)
        #expect(maxAbsDifference(p1.grad!, c.tensor("clipped1")) <= 1e-12)
        #expect(maxAbsDifference(p2.grad!, c.tensor("clipped2")) <= 1e-12)
        // Below the threshold nothing changes.
        let before = p1.grad!
        clipGradNorm([p1, p2], maxNorm: 100)
        expectBitIdentical(p1.grad!, before)
    }

    @Test func plainSGDStepIsThetaMinusAlphaGradient_eq7_8() {
        let p = Parameter(Tensor([1, -2, 3], dtype: .float64))
        p.value.grad = Tensor([0.5, 0.5, -1], dtype: .float64)
        SGD([p], learningRate: 0.1).step()
        expectValues(p.value, [0.95, -2.05, 3.1], tolerance: 1e-15)
    }

    @Test func frozenParametersAndParametersWithoutGradientsAreSkipped() {
        let frozen = Parameter(Tensor([1, 2], dtype: .float64)), noGrad = Parameter(Tensor([3, 4], dtype: .float64))
        let live = Parameter(Tensor([5, 6], dtype: .float64))
        live.value.grad = Tensor([1, 1], dtype: .float64)
        frozen.isFrozen = true
        let opt = Adam([frozen, noGrad, live], learningRate: 0.1)
        opt.step()
        expectValues(frozen.value, [1, 2], tolerance: 0)
        expectValues(noGrad.value, [3, 4], tolerance: 0)
        #expect(live.value.scalars(as: Double.self) != [5, 6])
        #expect(opt.state.parameters.map(\.step) == [0, 0, 1])
        #expect(opt.state.parameters.map(\.tensors.count) == [0, 0, 2])
    }

    @Test(arguments: ["sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop_centered_momentum", "adam_warmup_cosine"])
    func exportedStateResumesBitForBit(_ name: String) {
        let c = Self.fixture.case(name)
        let x = c.tensor("x"), y = c.tensor("y")
        func train(_ opt: Optimizer, _ w: Parameter, _ b: Parameter, steps: Int) {
            for _ in 0..<steps {
                opt.zeroGrad()
                fixtureLoss(w, b, x, y).backward()
                opt.step()
            }
        }
        // Straight through: 6 steps.
        let w1 = Parameter(c.tensor("W0")), b1 = Parameter(c.tensor("b0"))
        train(makeOptimizer(name, [w1, b1]), w1, b1, steps: 6)
        // 3 steps, export, new optimiser, import, 3 more.
        let w2 = Parameter(c.tensor("W0")), b2 = Parameter(c.tensor("b0"))
        let first = makeOptimizer(name, [w2, b2])
        train(first, w2, b2, steps: 3)
        let saved = first.state
        train(first, w2, b2, steps: 0)
        let w3 = Parameter(w2.value.detached()), b3 = Parameter(b2.value.detached())
        let second = makeOptimizer(name, [w3, b3])
        second.state = saved
        #expect(second.stepCount == 3)
        train(second, w3, b3, steps: 3)
        expectBitIdentical(w3.value.detached(), w1.value.detached())
        expectBitIdentical(b3.value.detached(), b1.value.detached())
    }

    @Test func exportedStateIsACopyNotAnAlias() {
        let p = Parameter(Tensor([1, 2], dtype: .float64))
        let opt = SGD([p], learningRate: 0.1, momentum: 0.9)
        p.value.grad = Tensor([1, 1], dtype: .float64)
        opt.step()
        let saved = opt.state
        let buffer = saved.parameters[0].tensors["momentum_buffer"]!.scalars(as: Double.self)
        opt.step()
        #expect(saved.parameters[0].tensors["momentum_buffer"]!.scalars(as: Double.self) == buffer)
        #expect(opt.state.parameters[0].tensors["momentum_buffer"]!.scalars(as: Double.self) != buffer)
    }

    @Test(arguments: [DType.float32, .float64])
    func optimizersUpdateFloat32AndFloat64Alike(_ dtype: DType) {
        for make: ([Parameter]) -> Optimizer in [{ SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true) },
                     { Adam($0, learningRate: 0.1) }, { AdamW($0, learningRate: 0.1) }, { RMSProp($0, learningRate: 0.1) }] {
            let p = Parameter(Tensor([1, -1, 2], dtype: dtype))
            let opt = make([p])
            for _ in 0..<200 {
                opt.zeroGrad()
                p.value.square().sum().backward()
                opt.step()
            }
            #expect(p.value.dtype == dtype)
            #expect(p.value.abs().max().item() < 0.3, "\(type(of: opt)) did not approach the minimum: \(p.value)")
        }
    }
}

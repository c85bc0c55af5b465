import Neural
import Testing

// LayerNorm (both forms), BatchNorm1D/2D, GroupNorm and the fused standardisation op: PyTorch
// reference values (Scripts/fixtures/norms.py), gradient checks in training and evaluation mode
// over every configuration, and the notes' equations 7.40–7.42.

/// Non-trivial affine parameters, so gradient checks exercise γ and β.
private func randomizeParameters(_ module: Module, seed: UInt64) {
    for (i, p) in module.parameters.enumerated() {
        p.value = seededUniform(p.shape, seed: seed + UInt64(i), low: 0.5, high: 1.5)
    }
}

/// Runs `module` on the case's x with upstream gradient g; compares output and gradients with torch.
private func expectMatchesTorch(_ module: any Layer, _ c: TorchFixture.Case, parameters: [String: Parameter],
                                sourceLocation: SourceLocation = #_sourceLocation) {
    for (name, p) in parameters { p.value = c.tensor(name) }
    var x = c.tensor("x")
    x.requiresGrad = true
    let out = module(x)
    (out * c.tensor("g")).sum().backward()
    expectNear(out, c.tensor("out"), "\(c.name) out", sourceLocation: sourceLocation)
    expectNear(x.grad, c.tensor("grad_x"), "\(c.name) grad_x", sourceLocation: sourceLocation)
    for (name, p) in parameters {
        expectNear(p.grad, c.tensor("grad_" + name), "\(c.name) grad_\(name)", sourceLocation: sourceLocation)
    }
}

@Suite("LayerNorm")
struct LayerNormTests {
    @Test("per-feature LayerNorm matches torch.nn.LayerNorm over the last 1 and 2 dims", arguments: [
        ("layernorm_last1", [6]), ("layernorm_last2", [3, 4]), ("layernorm_last1_3d", [5]),
    ])
    func perFeatureMatchesTorch(name: String, normalizedShape: [Int]) {
        let c = TorchFixture.load("norms").case(name)
        let ln = LayerNorm(normalizedShape, dtype: .float64)
        expectMatchesTorch(ln, c, parameters: ["weight": ln.weight!, "bias": ln.bias!])
    }

    @Test func withoutAffineMatchesTorch() {
        let c = TorchFixture.load("norms").case("layernorm_last2_noaffine")
        let ln = LayerNorm([3, 4], affine: .none, dtype: .float64)
        #expect(ln.parameterCount == 0)
        expectMatchesTorch(ln, c, parameters: [:])
    }

    @Test func notesScalarFormMatchesTorchComposition_eq7_41() {
        let c = TorchFixture.load("norms").case("layernorm_scalar")
        let ln = LayerNorm(6, affine: .scalar, dtype: .float64)
        #expect(ln.weight!.shape.isEmpty)
        #expect(ln.bias!.shape.isEmpty)
        #expect(ln.parameterCount == 2)
        expectMatchesTorch(ln, c, parameters: ["weight": ln.weight!, "bias": ln.bias!])
    }

    @Test("gradient check, train and eval", arguments: [
        ([4, 6], [6], LayerNorm.Affine.perFeature), ([2, 3, 4], [4], .perFeature), ([2, 3, 4], [3, 4], .perFeature),
        ([3, 5], [5], .scalar), ([2, 3, 4], [3, 4], .scalar), ([3, 5], [5], .none), ([2, 3, 4], [3, 4], .none),
    ])
    func gradientCheck(inputShape: [Int], normalizedShape: [Int], affine: LayerNorm.Affine) {
        for training in [true, false] {
            let ln = LayerNorm(normalizedShape, affine: affine).to(.float64).train(training)
            randomizeParameters(ln, seed: 10)
            expectModuleGradients(ln, input: seededUniform(inputShape, seed: 3, low: -2, high: 2), parameters: ln.parameters)
        }
    }

    @Test func defaultsAndStateDictNamesAreTorchs() {
        let ln = LayerNorm([3, 4])
        #expect(ln.stateDict().map(\.name) == ["weight", "bias"])
        #expect(ln.eps == 1e-5)
        #expect(ln.weight!.value.scalars(as: Double.self) == Array(repeating: 1, count: 12))
        #expect(ln.bias!.value.scalars(as: Double.self) == Array(repeating: 0, count: 12))
        #expect(LayerNorm(4, bias: false).stateDict().map(\.name) == ["weight"])
    }

    @Test func lnSUsesThePopulationStandardDeviation_eq7_40() {
        let z = seededUniform([3, 7], seed: 5, low: -3, high: 4)
        let y = LayerNorm(7, eps: 0, affine: .none, dtype: .float64)(z)
        for r in 0..<3 {
            let row = y[r].scalars(as: Double.self)
            #expect(Swift.abs(row.reduce(0, +) / 7) < 1e-14)
            #expect(Swift.abs(row.map { $0 * $0 }.reduce(0, +) / 7 - 1) < 1e-13)   // divide by m, not m − 1
        }
        // Same as the definition written out with differentiable reductions.
        let reference = (z - z.mean(axis: 1, keepDims: true)) / z.variance(axis: 1, keepDims: true).sqrt()
        #expect(maxAbsDifference(y, reference) < 1e-13)
    }

    @Test("LN(MM_{αW,αb}(z)) = LN(MM_{W,b}(z)) for α > 0", arguments: [0.01, 0.5, 3.0, 250.0])
    func layerNormIsScaleInvariant_eq7_42(alpha: Double) {
        let g = RandomGenerator(seed: 42)
        let mm = Linear(5, 8, dtype: .float64, generator: g)
        let scaled = Linear(5, 8, dtype: .float64, generator: g)
        scaled.weight.value = mm.weight.value * alpha
        scaled.bias!.value = mm.bias!.value * alpha
        let z = seededUniform([6, 5], seed: 9)
        for affine in [LayerNorm.Affine.none, .scalar, .perFeature] {
            let ln = LayerNorm(8, eps: 0, affine: affine, dtype: .float64)
            randomizeParameters(ln, seed: 77)
            let a = ln(mm(z)), b = ln(scaled(z))
            #expect(maxAbsDifference(a, b) < 1e-12, "α = \(alpha), \(affine)")
        }
    }

    @Test func fusedFloat32AgreesWithFloat64() {
        let x = seededUniform([16, 37], seed: 2, low: -5, high: 5)
        let w = seededUniform([37], seed: 3), b = seededUniform([37], seed: 4)
        let y64 = x.layerNorm(weight: w, bias: b)
        let y32 = x.to(.float32).layerNorm(weight: w.to(.float32), bias: b.to(.float32))
        #expect(maxAbsDifference(y32.to(.float64), y64) < 1e-5)
    }

    @Test func fusedForwardAndBackwardDoNotDependOnThreadCount() {
        let x0 = seededUniform([300, 129], seed: 8, dtype: .float32)
        let w0 = seededUniform([129], seed: 9, dtype: .float32), b0 = seededUniform([129], seed: 10, dtype: .float32)
        func run(_ threads: Int) -> [Tensor] {
            Runtime.withThreads(threads) {
                var x = x0, w = w0, b = b0
                x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
                let y = x.layerNorm(weight: w, bias: b)
                (y * y).sum().backward()
                return [y.detached(), x.grad!, w.grad!, b.grad!]
            }
        }
        for (a, b) in zip(run(1), run(2)) { expectBitIdentical(a, b) }
    }
}

@Suite("BatchNorm")
struct BatchNormTests {
    @Test("BatchNorm matches torch (output, gradients, running statistics)", arguments: [
        "batchnorm1d_2d_train", "batchnorm1d_2d_eval", "batchnorm1d_3d_train", "batchnorm1d_3d_eval",
        "batchnorm2d_train", "batchnorm2d_eval",
    ])
    func matchesTorch(name: String) {
        let c = TorchFixture.load("norms").case(name)
        let channels = c.tensor("x").shape[1]
        let bn: BatchNorm = name.hasPrefix("batchnorm2d") ? BatchNorm2D(channels, dtype: .float64) : BatchNorm1D(channels, dtype: .float64)
        bn.train(c.bool("train"))
        bn.runningMean!.value = c.tensor("running_mean_before")
        bn.runningVar!.value = c.tensor("running_var_before")
        expectMatchesTorch(bn, c, parameters: ["weight": bn.weight!, "bias": bn.bias!])
        expectNear(bn.runningMean!.value, c.tensor("running_mean_after"), "\(name) running_mean")
        expectNear(bn.runningVar!.value, c.tensor("running_var_after"), "\(name) running_var")
        #expect(bn.numBatchesTracked!.value.item() == c.tensor("num_batches_tracked_after").item())
    }

    @Test("gradient check, train and eval", arguments: [[6, 3], [4, 3, 5], [3, 4, 3, 5]])
    func gradientCheck(inputShape: [Int]) {
        for training in [true, false] {
            let c = inputShape[1]
            let bn: BatchNorm = inputShape.count == 4 ? BatchNorm2D(c) : BatchNorm1D(c)
            bn.to(.float64)
            randomizeParameters(bn, seed: 20)
            // Non-trivial running statistics for evaluation mode.
            bn.runningMean!.value = seededUniform([c], seed: 21)
            bn.runningVar!.value = seededUniform([c], seed: 22, low: 0.5, high: 2)
            bn.train(training)
            expectModuleGradients(bn, input: seededUniform(inputShape, seed: 23, low: -2, high: 3), parameters: bn.parameters)
        }
    }

    @Test func withoutAffineOrTrackingHasNoState() {
        let bn = BatchNorm1D(3, affine: false, trackRunningStats: false, dtype: .float64)
        #expect(bn.stateDict().isEmpty)
        let x = seededUniform([5, 3], seed: 1)
        // Without running statistics, evaluation mode also uses the batch statistics.
        let train = bn.train()(x), eval = bn.eval()(x)
        expectBitIdentical(train, eval)
        expectModuleGradients(bn, input: x, parameters: [])
    }

    @Test func stateDictNamesAndDefaultsAreTorchs() {
        let bn = BatchNorm2D(4)
        let names: [String] = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
        #expect(bn.stateDict().map(\.name) == names)
        #expect(bn.momentum == 0.1 && bn.eps == 1e-5)
        #expect(bn.runningMean!.value.scalars(as: Double.self) == [0, 0, 0, 0])
        #expect(bn.runningVar!.value.scalars(as: Double.self) == [1, 1, 1, 1])
        #expect(bn.numBatchesTracked!.value.item() == 0)
        let net = Sequential(Linear(3, 4), BatchNorm1D(4))
        let netNames: [String] = ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                  "1.num_batches_tracked"]
        #expect(net.stateDict().map(\.name) == netNames)
    }

    @Test func trainingUpdatesRunningStatisticsWithUnbiasedVariance() {
        let bn = BatchNorm1D(2, dtype: .float64)
        let x = Tensor([[1, 10], [3, 14], [5, 12]], dtype: .float64)
        _ = bn(x)
        // mean [3, 12]; unbiased variance [4, 4]; momentum 0.1 from (0, 1).
        expectValues(bn.runningMean!.value, [0.3, 1.2], tolerance: 1e-15)
        expectValues(bn.runningVar!.value, [0.9 + 0.4, 0.9 + 0.4], tolerance: 1e-15)
        #expect(bn.numBatchesTracked!.value.item() == 1)
        // Evaluation mode neither uses nor changes the batch statistics.
        bn.eval()
        let y = bn(x)
        expectValues(bn.runningMean!.value, [0.3, 1.2], tolerance: 1e-15)
        let rv = (1.3 + 1e-5).squareRoot()
        let expected: [Double] = [(1 - 0.3) / rv, (10 - 1.2) / rv, (3 - 0.3) / rv, (14 - 1.2) / rv, (5 - 0.3) / rv, (12 - 1.2) / rv]
        expectValues(y, expected, tolerance: 1e-14)
    }

    @Test func momentumNilIsACumulativeAverage() {
        let bn = BatchNorm1D(1, momentum: nil, dtype: .float64)
        _ = bn(Tensor([[1], [3]], dtype: .float64))     // mean 2
        _ = bn(Tensor([[5], [9]], dtype: .float64))     // mean 7
        expectValues(bn.runningMean!.value, [4.5], tolerance: 1e-15)
        #expect(bn.numBatchesTracked!.value.item() == 2)
    }

    @Test func trainingOutputHasZeroMeanAndUnitPopulationVariancePerChannel() {
        let x = seededUniform([4, 3, 2, 5], seed: 31, low: -4, high: 9)
        let y = BatchNorm2D(3, eps: 0, dtype: .float64)(x)
        let mean = y.mean(axes: [0, 2, 3]).scalars(as: Double.self)
        let variance = y.variance(axes: [0, 2, 3]).scalars(as: Double.self)
        #expect(mean.allSatisfy { Swift.abs($0) < 1e-14 })
        #expect(variance.allSatisfy { Swift.abs($0 - 1) < 1e-13 })
    }
}

@Suite("GroupNorm")
struct GroupNormTests {
    @Test("GroupNorm matches torch.nn.GroupNorm", arguments: [
        ("groupnorm_g1_4d", 1), ("groupnorm_g2_4d", 2), ("groupnorm_g4_4d", 4), ("groupnorm_g3_3d", 3), ("groupnorm_g2_2d", 2),
    ])
    func matchesTorch(name: String, groups: Int) {
        let c = TorchFixture.load("norms").case(name)
        let gn = GroupNorm(groups, c.tensor("x").shape[1], dtype: .float64)
        expectMatchesTorch(gn, c, parameters: ["weight": gn.weight!, "bias": gn.bias!])
    }

    @Test("gradient check, train and eval", arguments: [
        (1, [2, 4, 3, 3]), (2, [2, 4, 3, 3]), (4, [2, 4, 3, 3]), (3, [2, 6, 5]), (2, [3, 4]),
    ])
    func gradientCheck(groups: Int, inputShape: [Int]) {
        for training in [true, false] {
            let gn = GroupNorm(groups, inputShape[1]).to(.float64).train(training)
            randomizeParameters(gn, seed: 40)
            expectModuleGradients(gn, input: seededUniform(inputShape, seed: 41, low: -2, high: 2), parameters: gn.parameters)
        }
    }

    @Test func oneGroupIsLayerNormOverChannelsAndSpace() {
        let x = seededUniform([2, 4, 3], seed: 50)
        let gn = GroupNorm(1, 4, affine: false, dtype: .float64)
        #expect(gn.stateDict().isEmpty)
        let ln = LayerNorm([4, 3], affine: .none, dtype: .float64)
        #expect(maxAbsDifference(gn(x), ln(x)) < 1e-14)
        #expect(GroupNorm(2, 4).stateDict().map(\.name) == ["weight", "bias"])
    }
}

@Suite("Standardization op")
struct StandardizationOpTests {
    @Test("fused and composed paths agree and differentiate", arguments: [[0], [1], [2], [0, 2], [1, 2], [0, 1], [0, 1, 2]])
    func standardizedOverAnyAxes(axes: [Int]) {
        let x = seededUniform([3, 4, 5], seed: 60, low: -2, high: 3)
        let y = x.standardized(axes: axes, eps: 1e-3)
        let mu = x.mean(axes: axes, keepDims: true)
        let reference = (x - mu) / (x.variance(axes: axes, keepDims: true) + 1e-3).sqrt()
        #expect(maxAbsDifference(y, reference) < 1e-13)
        expectGradientsMatch({ $0[0].standardized(axes: axes, eps: 1e-3) }, at: [x])
    }

    @Test func layerNormOpGradientCheckWithAndWithoutParameters() {
        let x = seededUniform([3, 2, 9], seed: 61, low: -2, high: 2)
        let w = seededUniform([2, 9], seed: 62), b = seededUniform([2, 9], seed: 63)
        expectGradientsMatch({ $0[0].layerNorm(normalizedAxes: 2, weight: $0[1], bias: $0[2]) }, at: [x, w, b])
        expectGradientsMatch({ $0[0].layerNorm(normalizedAxes: 2, weight: $0[1]) }, at: [x, w])
        expectGradientsMatch({ $0[0].layerNorm(normalizedAxes: 2, bias: $0[1]) }, at: [x, b])
        expectGradientsMatch({ $0[0].layerNorm(normalizedAxes: 1) }, at: [x])
    }
}

import Neural
import Testing

// RMSNorm, InstanceNorm1D/2D, AdaptiveAvgPool1D/2D and Upsample: torch reference values
// (Scripts/fixtures/layers_extra.py → layers_extra.json) for outputs, input and parameter gradients
// and running statistics, in Float64 (1e-10) and Float32 (1e-5); Float64 gradient checks; the same
// bits at 1 and 2 threads; and the spec tokens.

/// Runs `module` on the case's x with upstream gradient g (after setting `parameters` from the case)
/// and compares output and gradients with torch, in Float64 and then Float32.
private func expectLayerMatchesTorch(_ make: (DType) -> any Layer, _ c: TorchFixture.Case, parameters: [String],
                                     training: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
    for (dtype, tolerance) in [(DType.float64, 1e-10), (.float32, 1e-5)] {
        let module = make(dtype).train(training)
        let named = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.parameter) })
        for p in parameters { named[p]!.value = c.tensor(p).to(dtype) }
        var x = c.tensor("x").to(dtype)
        x.requiresGrad = true
        let out = module(x)
        (out * c.tensor("g").to(dtype)).sum().backward()
        let label = "\(c.name) \(dtype)"
        #expect(out.dtype == dtype, sourceLocation: sourceLocation)
        expectNear(out.to(.float64), c.tensor("out"), "\(label) out", tolerance: tolerance, sourceLocation: sourceLocation)
        expectNear(x.grad?.to(.float64), c.tensor("grad_x"), "\(label) grad_x", tolerance: tolerance, sourceLocation: sourceLocation)
        for p in parameters {
            expectNear(named[p]!.grad?.to(.float64), c.tensor("grad_" + p), "\(label) grad_\(p)", tolerance: tolerance,
                       sourceLocation: sourceLocation)
        }
    }
}

@Suite("RMSNorm and InstanceNorm match torch (layers_extra.json)")
struct ExtraNormalizationTests {
    let fixture = TorchFixture.load("layers_extra")

    @Test func rmsNormMatchesTorchWithDefaultAndExplicitEps() {
        let cases = fixture.cases.filter { $0.name.hasPrefix("rmsnorm_") }
        #expect(cases.count == 4)
        for c in cases {
            let eps: Double? = c.double("eps") < 0 ? nil : c.double("eps"), affine = c.bool("affine")
            expectLayerMatchesTorch({ RMSNorm(c.ints("normalized_shape"), eps: eps, elementwiseAffine: affine, dtype: $0) }, c,
                                    parameters: affine ? ["weight"] : [])
        }
    }

    @Test func rmsNormDefaultEpsIsTheDtypeMachineEpsilon() {
        // mean(x²) = 0 for a zero row: y = 0·(1/√eps)·γ; with x tiny the eps dominates, as in torch.
        let x = Tensor([1e-4, -1e-4], dtype: .float32)
        let y = RMSNorm(2, elementwiseAffine: false)(x).scalars(as: Double.self)
        let expected = 1e-4 / (1e-8 + Double(Float.ulpOfOne)).squareRoot()
        #expect(abs(y[0] - expected) < 1e-3 * expected)
        #expect(RMSNorm(4).stateDict().map(\.name) == ["weight"])
        #expect(RMSNorm(4, elementwiseAffine: false).parameterCount == 0)
    }

    @Test func instanceNormMatchesTorchInEveryConfiguration() {
        let cases = fixture.cases.filter { $0.name.hasPrefix("instancenorm") }
        #expect(cases.count == 18)
        for c in cases {
            let ch = c.int("channels"), affine = c.bool("affine"), track = c.bool("track"), training = c.string("mode") == "train"
            let twoD = c.name.hasPrefix("instancenorm2d")
            var layer: InstanceNorm?
            expectLayerMatchesTorch({ dtype in
                let m: InstanceNorm = twoD ? InstanceNorm2D(ch, affine: affine, trackRunningStats: track, dtype: dtype)
                    : InstanceNorm1D(ch, affine: affine, trackRunningStats: track, dtype: dtype)
                for (name, b) in m.namedBuffers() where name == "running_mean" || name == "running_var" {
                    b.value = c.tensor(name + "0").to(dtype)
                }
                layer = m
                return m
            }, c, parameters: affine ? ["weight", "bias"] : [], training: training)
            if track, let layer {
                let buffers = Dictionary(uniqueKeysWithValues: layer.namedBuffers().map { ($0.name, $0.buffer.value) })
                expectNear(buffers["running_mean"]!.to(.float64), c.tensor("running_mean"), "\(c.name) running_mean", tolerance: 1e-6)
                expectNear(buffers["running_var"]!.to(.float64), c.tensor("running_var"), "\(c.name) running_var", tolerance: 1e-6)
            }
        }
    }

    @Test func instanceNormStateDictNamesAndDefaultsAreTorchs() {
        #expect(InstanceNorm2D(3).stateDict().isEmpty)
        #expect(InstanceNorm1D(3, affine: true, trackRunningStats: true).stateDict().map(\.name)
                == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
    }

    @Test func gradientChecks() {
        let x = seededUniform([2, 3, 4, 5], seed: 7, low: -2, high: 2)
        expectModuleGradients(RMSNorm([4, 5], dtype: .float64), input: x)
        expectModuleGradients(RMSNorm(5, eps: 0.1, dtype: .float64), input: x)
        let w = RMSNorm(5, dtype: .float64)
        w.weight!.value = seededUniform([5], seed: 8, low: 0.5, high: 1.5)
        expectModuleGradients(w, input: x)
        let inorm = InstanceNorm2D(3, affine: true, dtype: .float64)
        inorm.weight!.value = seededUniform([3], seed: 9, low: 0.5, high: 1.5)
        expectModuleGradients(inorm, input: x)
        expectModuleGradients(InstanceNorm1D(3, dtype: .float64), input: x.reshaped([2, 3, 20]))
    }
}

@Suite("AdaptiveAvgPool and Upsample match torch (layers_extra.json)")
struct ResamplingLayerTests {
    let fixture = TorchFixture.load("layers_extra")

    @Test func adaptiveAvgPoolMatchesTorchOnDivisibleOverlappingAndLargerSizes() {
        let cases = fixture.cases.filter { $0.name.hasPrefix("adaptiveavgpool") }
        #expect(cases.count == 10)
        for c in cases {
            let size = c.ints("size")
            if c.name.hasPrefix("adaptiveavgpool1d") {
                expectLayerMatchesTorch({ _ in AdaptiveAvgPool1D(size[0]) }, c, parameters: [])
            } else {
                let s = (size[0] < 0 ? nil : size[0], size[1] < 0 ? nil : size[1])
                expectLayerMatchesTorch({ _ in AdaptiveAvgPool2D(s) }, c, parameters: [])
            }
        }
    }

    @Test func upsampleMatchesTorchNearestLinearBilinearWithAlignCornersBothWays() {
        let cases = fixture.cases.filter { $0.name.hasPrefix("upsample_") }
        #expect(cases.count == 18)
        for c in cases {
            let mode = UpsampleMode(rawValue: c.string("mode"))!, align: Bool? = c.int("align") < 0 ? nil : c.int("align") == 1
            let size = c.ints("size"), scale = c.double("scale")
            expectLayerMatchesTorch({ _ in
                Upsample(size: size.isEmpty ? nil : size, scaleFactor: size.isEmpty ? [scale] : nil, mode: mode, alignCorners: align)
            }, c, parameters: [])
        }
    }

    @Test func gradientChecks() {
        let x = seededUniform([2, 2, 5, 7], seed: 11)
        expectModuleGradients(AdaptiveAvgPool2D((3, 4)), input: x)
        expectModuleGradients(AdaptiveAvgPool2D((7, 9)), input: x)
        expectModuleGradients(AdaptiveAvgPool1D(3), input: x.reshaped([2, 2, 35]))
        expectModuleGradients(Upsample(size: [7, 9], mode: .bilinear, alignCorners: false), input: x)
        expectModuleGradients(Upsample(size: [8, 11], mode: .bilinear, alignCorners: true), input: x)
        expectModuleGradients(Upsample(scaleFactor: 1.5, mode: .nearest), input: x)
        expectModuleGradients(Upsample(scaleFactor: 2, mode: .linear), input: x.reshaped([2, 2, 35]))
    }

    @Test func sameBitsAtOneAndTwoThreads() {
        let x = seededUniform([8, 16, 24, 24], seed: 12, dtype: .float32)
        func run() -> [Tensor] {
            var leaf = x
            leaf.requiresGrad = true
            let up = Upsample(scaleFactor: 2, mode: .bilinear, alignCorners: false)(leaf)
            let y = RMSNorm(48)(InstanceNorm2D(16)(AdaptiveAvgPool2D((5, 7))(up).upsampled(size: [48, 48])))
            (y * y).sum().backward()
            return [y.detached(), leaf.grad!]
        }
        let one = Runtime.withThreads(1) { run() }, two = Runtime.withThreads(2) { run() }
        for (a, b) in zip(one, two) { expectBitIdentical(a, b) }
    }
}

@Suite("Spec tokens rmsnorm, instancenorm, adaptiveavgpool, globalavgpool, upsample")
struct ExtraLayerSpecTests {
    @Test func tokensBuildTheLayersWithTheRunningShapes() throws {
        let spec = "conv2d(4,3,padding=1) instancenorm relu upsample(2) upsamplebilinear(2) adaptiveavgpool(5,3) rmsnorm globalavgpool linear(10)"
        let model = try ModelSpec.parse(spec).build(inputShape: [1, 6, 6], outputSize: nil, generator: RandomGenerator(seed: 1))
        let y = model(Tensor.randn([2, 1, 6, 6], generator: RandomGenerator(seed: 2)))
        #expect(y.shape == [2, 10])
        let rows = ModelSummary(model: model, inputShape: [1, 6, 6]).rows
        #expect(rows.map(\.outputShape) == [[4, 6, 6], [4, 6, 6], [4, 6, 6], [4, 12, 12], [4, 24, 24], [4, 5, 3], [4, 5, 3], [4, 1, 1], [4], [10]])
        let summary = rows.map(\.layer).joined(separator: "\n")
        for name in ["InstanceNorm2D(4)", "Upsample(×2, nearest)", "Upsample(×2, bilinear)", "AdaptiveAvgPool2D(5×3)", "RMSNorm([4, 5, 3])"] {
            #expect(summary.contains(name), "summary lacks \(name):\n\(summary)")
        }
    }
}

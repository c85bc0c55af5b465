import Neural
import Testing

// The fused affine map y = act(x Wᵀ + b) (`Tensor.linear`, eq. 7.35 with eq. 7.84) and its use by
// Sequential for Linear → ReLU: Float64 finite-difference checks of all three gradients, and
// equality with the unfused chain of matmul, bias add and ReLU.

/// Runs `fused` and `unfused` (the same function of `x`, `w` and `b` written op by op) backward
/// from the upstream gradient `g`: expects values equal bit for bit and gradients equal to rounding.
/// Returns the fused op's gradients; the inputs' gradients are cleared again.
@discardableResult
private func expectFusedMatchesUnfused(_ x: Tensor, _ w: Tensor, _ b: Tensor, upstream g: Tensor,
                                       fused: () -> Tensor, unfused: () -> Tensor,
                                       sourceLocation: SourceLocation = #_sourceLocation) -> (x: Tensor, w: Tensor, b: Tensor) {
    let y = fused()
    (y * g).sum().backward()
    let grads = (x: x.grad!, w: w.grad!, b: b.grad!)
    x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
    let z = unfused()
    (z * g).sum().backward()
    #expect(y.scalars(as: Double.self) == z.scalars(as: Double.self), sourceLocation: sourceLocation)
    let tol = x.dtype == .float32 ? 1e-4 : 1e-12
    expectNear(grads.x, x.grad!, "grad x", tolerance: tol, sourceLocation: sourceLocation)
    expectNear(grads.w, w.grad!, "grad W", tolerance: tol, sourceLocation: sourceLocation)
    expectNear(grads.b, b.grad!, "grad b", tolerance: tol, sourceLocation: sourceLocation)
    x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
    return grads
}

@Suite("Fused linear + bias + activation")
struct FusedLinearTests {
    @Test("Float64 gradient check of x, W and b", arguments: [FusedActivation.identity, .relu])
    func gradientCheck(activation: FusedActivation) {
        let x = awayFromZero([5, 4], seed: 11), w = seededUniform([3, 4], seed: 12), b = seededUniform([3], seed: 13)
        expectGradientsMatch({ $0[0].linear(weight: $0[1], bias: $0[2], activation: activation) }, at: [x, w, b])
        expectGradientsMatch({ $0[0].linear(weight: $0[1], activation: activation) }, at: [x, w])
        // Leading batch dimensions and a single example.
        expectGradientsMatch({ $0[0].linear(weight: $0[1], bias: $0[2], activation: activation) },
                             at: [awayFromZero([2, 3, 4], seed: 14), w, b])
        expectGradientsMatch({ $0[0].linear(weight: $0[1], bias: $0[2], activation: activation) },
                             at: [awayFromZero([1, 4], seed: 15), w, b])
    }

    @Test("equals matmul + bias + relu: values bit for bit, gradients to rounding", arguments: [DType.float32, .float64])
    func equalsUnfusedChain(dtype: DType) {
        // Sizes past the SIMD width and the GEMM tiles, with a ragged edge.
        let (rows, inF, outF) = (37, 45, 53)
        var x = seededUniform([rows, inF], seed: 21, dtype: dtype)
        var w = seededUniform([outF, inF], seed: 22, dtype: dtype)
        var b = seededUniform([outF], seed: 23, dtype: dtype)
        x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
        let g = seededUniform([rows, outF], seed: 24, dtype: dtype)
        for act in [FusedActivation.identity, .relu] {
            let grads = expectFusedMatchesUnfused(x, w, b, upstream: g,
                                                  fused: { x.linear(weight: w, bias: b, activation: act) },
                                                  unfused: {
                                                      let z = x.matmul(w.transposed()) + b
                                                      return act == .relu ? z.relu() : z
                                                  })
            #expect(grads.w.isContiguous)
        }
    }

    @Test("fused bias + ReLU equals the unfused chain bit for bit over every GEMM block structure, 1 and 2 threads",
          arguments: [(130, 300, 600), (2, 14_000, 600), (2, 256, 70_000), (40, 256, 20_000), (1, 70, 33), (129, 1, 64),
                      (128, 512, 784), (64, 128, 9216), (17, 35, 50), (16, 32, 1)])
    func fusedForwardEqualsUnfusedOverBlockStructures(rows: Int, outF: Int, inF: Int) {
        // Several row blocks and column ranges; two column blocks of packed B (14000 × 600, 34 MB);
        // several groups of K blocks (256 × 70000); deep K (20000); the matrix-vector paths (one
        // row, one output). With
        // 16 ≤ rows ≤ outF / 2 the fused layer computes yᵀ = W xᵀ (W read in place, rows split
        // across threads) and transposes with the epilogue: the MLP's and CNN's layers, tile edges
        // (17 × 35), one input.
        let x = seededUniform([rows, inF], seed: 25, dtype: .float32)
        let w = seededUniform([outF, inF], seed: 26, dtype: .float32)
        let b = seededUniform([outF], seed: 27, dtype: .float32)
        for threads in [1, 2] {
            Runtime.withThreads(threads) {
                let fused = x.linear(weight: w, bias: b, activation: .relu)
                let plain = (x.matmul(w.transposed()) + b).relu()
                expectBitIdentical(fused, plain)
            }
        }
    }

    @Test("Sequential fuses Linear → ReLU without changing outputs or gradients")
    func sequentialFusionMatchesLayerByLayer() {
        let model = Sequential(Linear(6, 8, generator: RandomGenerator(seed: 31)), ReLU(),
                               Linear(8, 8, generator: RandomGenerator(seed: 32)), ReLU(),
                               Linear(8, 3, generator: RandomGenerator(seed: 33)))
        let x = seededUniform([9, 6], seed: 34, dtype: .float32)
        let fused = model(x)
        fused.square().sum().backward()
        let fusedGrads = model.parameters.map { $0.grad! }
        model.parameters.forEach { $0.zeroGrad() }
        let plain = model.layers.reduce(x) { h, layer in layer(h) }
        plain.square().sum().backward()
        #expect(fused.scalars(as: Float.self) == plain.scalars(as: Float.self))
        for (a, p) in zip(fusedGrads, model.parameters) { expectNear(a, p.grad!, "parameter grad", tolerance: 1e-4) }
        #expect(fused.gradientFunctionName == "linear")
    }

    @Test("Float64 gradient check through a fused Sequential MLP")
    func sequentialGradientCheck() {
        let model = Sequential(Linear(4, 5, generator: RandomGenerator(seed: 41)), ReLU(),
                               Linear(5, 2, generator: RandomGenerator(seed: 42))).to(.float64)
        expectModuleGradients(model, input: awayFromZero([3, 4], seed: 43))
    }

    @Test("inputs without gradients get none; an empty batch gives zero parameter gradients")
    func needsAndEmptyBatch() {
        var w = seededUniform([3, 4], seed: 51)
        w.requiresGrad = true
        var b = seededUniform([3], seed: 52)
        b.requiresGrad = true
        let x = seededUniform([0, 4], seed: 53)
        let y = x.linear(weight: w, bias: b, activation: .relu)
        #expect(y.shape == [0, 3])
        y.sum().backward()
        #expect(w.grad!.scalars(as: Double.self) == [Double](repeating: 0, count: 12))
        #expect(b.grad!.scalars(as: Double.self) == [0, 0, 0])
    }
}

@Suite("Fused convolution + bias + ReLU")
struct FusedConvolutionTests {
    @Test("Float64 gradient check of input, filters and bias through conv2d(activation: .relu)")
    func gradientCheck() {
        let x = seededUniform([2, 2, 5, 4], seed: 71), w = seededUniform([3, 2, 3, 2], seed: 72), b = seededUniform([3], seed: 73)
        expectGradientsMatch({ $0[0].conv2d($0[1], bias: $0[2], padding: (1, 0), activation: .relu) }, at: [x, w, b])
        expectGradientsMatch({ $0[0].conv2d($0[1], stride: (2, 1), activation: .relu) }, at: [x, w])
    }

    @Test("equals conv2d followed by relu: values bit for bit, gradients to rounding", arguments: [DType.float32, .float64])
    func equalsUnfused(dtype: DType) {
        var x = seededUniform([3, 4, 9, 11], seed: 81, dtype: dtype)
        var w = seededUniform([5, 4, 3, 3], seed: 82, dtype: dtype)
        var b = seededUniform([5], seed: 83, dtype: dtype)
        x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
        let g = seededUniform([3, 5, 7, 9], seed: 84, dtype: dtype)
        expectFusedMatchesUnfused(x, w, b, upstream: g,
                                  fused: { x.conv2d(w, bias: b, activation: .relu) },
                                  unfused: { x.conv2d(w, bias: b).relu() })
    }

    @Test("Sequential fuses Conv2D → ReLU without changing outputs")
    func sequentialFusion() {
        let model = Sequential(Conv2D(1, 4, kernelSize: 3, generator: RandomGenerator(seed: 91)), ReLU(),
                               MaxPool2D(kernelSize: 2), Flatten(), Linear(144, 3, generator: RandomGenerator(seed: 92)))
        let x = seededUniform([2, 1, 14, 14], seed: 93, dtype: .float32)
        let fused = model(x)
        let plain = model.layers.reduce(x) { h, layer in layer(h) }
        #expect(fused.scalars(as: Float.self) == plain.scalars(as: Float.self))
    }
}

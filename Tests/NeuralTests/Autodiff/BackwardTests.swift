import Neural
import Testing

/// A leaf with `requiresGrad` set.
private func leaf(_ values: [Double], shape: [Int]? = nil, dtype: DType = .float64) -> Tensor {
    var t = Tensor(values, shape: shape, dtype: dtype)
    t.requiresGrad = true
    return t
}

/// Builds `x · 1.0001` applied `n` times as a chain of `n` recorded operations.
private func chain(from x: Tensor, length n: Int) -> Tensor {
    var y = x
    for _ in 0..<n { y = y * 1.0001 }
    return y
}

@Suite("Backward pass semantics (§7.4, B1–B4)")
struct BackwardTests {
    // MARK: Accumulation and zeroGrad

    @Test func gradAccumulatesAcrossBackwardPassesUntilZeroGrad() {
        let x = leaf([1, 2, 3])
        #expect(x.grad == nil)
        (x * x).sum().backward()
        expectValues(x.grad!, [2, 4, 6])
        (x * 3).sum().backward()
        expectValues(x.grad!, [5, 7, 9])
        x.zeroGrad()
        #expect(x.grad == nil)
        (x * x).sum().backward()
        expectValues(x.grad!, [2, 4, 6])
    }

    @Test func gradientReadBeforeASecondPassIsNotChangedByIt() {
        let x = leaf([1, 2])
        x.sum().backward()
        let first = x.grad!
        (x * 10).sum().backward()
        expectValues(first, [1, 1])
        expectValues(x.grad!, [11, 11])
    }

    @Test func gradientsSharedBetweenLeavesStayIndependent() {
        // a + b hands the same v to both leaves; a later pass on a alone must not change b.grad.
        let a = leaf([1, 2]), b = leaf([3, 4])
        (a + b).sum().backward()
        a.sum().backward()
        expectValues(a.grad!, [2, 2])
        expectValues(b.grad!, [1, 1])
    }

    @Test func assigningGradReplacesIt() {
        let x = leaf([1, 2])
        x.grad = Tensor([5, 6] as [Double], dtype: .float64)
        x.sum().backward()
        expectValues(x.grad!, [6, 7])
    }

    // MARK: B2: ∂J/∂z has z's shape

    @Test(arguments: [[], [4], [3, 4], [2, 3, 4], [1, 1], [3, 1], [2, 1, 4]] as [[Int]])
    func gradientHasTheShapeOfZ_B2(shape: [Int]) {
        var z = seededUniform(shape, seed: 140)
        z.requiresGrad = true
        let w = seededUniform([2, 3, 4], seed: 141)
        (z * w).sum().backward()   // z broadcasts against w when smaller
        #expect(z.grad!.shape == shape)
        #expect(z.grad!.dtype == .float64)
    }

    @Test func biasGradientSumsOverBatch_eq7_83() {
        // Z = XW + b with b ∈ ℝᵐ broadcast over B rows: ∂J/∂b = Σ_rows ∂J/∂Z.
        let x = Tensor([[1, 2], [3, 4], [5, 6]], dtype: .float64)
        let w = leaf([1, 0, -1, 0, 1, 1], shape: [2, 3])
        let b = leaf([0.5, -0.5, 0])
        let v = Tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]], dtype: .float64)
        (x.matmul(w) + b).backward(v)
        #expect(b.grad!.shape == [3])
        expectValues(b.grad!, [12, 15, 18], tolerance: 0)
        // and ∂J/∂W = Xᵀ V.
        expectValues(w.grad!, [48, 57, 66, 60, 72, 84], shape: [2, 3], tolerance: 0)
    }

    @Test func columnBiasGradientSumsOverColumns() {
        let b = leaf([1, 2], shape: [2, 1])
        (Tensor.ones([2, 5], dtype: .float64) * b).sum().backward()
        expectValues(b.grad!, [5, 5], shape: [2, 1])
    }

    // MARK: Recording on and off

    @Test func withNoGradProducesTensorsThatDoNotRequireGrad() {
        let x = leaf([1, 2])
        #expect(GradMode.isEnabled)
        let y = withNoGrad { () -> Tensor in
            #expect(!GradMode.isEnabled)
            return (x * x).exp().sum()
        }
        #expect(GradMode.isEnabled)
        #expect(!y.requiresGrad)
        #expect(y.gradientFunctionName == nil)
        #expect((x * 2).requiresGrad)
    }

    @Test func operationsOnTensorsWithoutGradRecordNothing() {
        let a = Tensor([1, 2] as [Double]), b = Tensor([3, 4] as [Double])
        let c = (a * b).exp().matmul(Tensor.ones([2, 2]))
        #expect(!c.requiresGrad)
        #expect(c.isLeaf)
        #expect(c.gradientFunctionName == nil)
    }

    @Test func detachedStopsGradients() {
        let x = leaf([3, 4])
        (x * x.detached()).sum().backward()
        expectValues(x.grad!, [3, 4])   // not 2x
        #expect(!x.detached().requiresGrad)
        #expect(x.requiresGrad)
    }

    @Test func settingRequiresGradFalseDetaches() {
        var x = leaf([1])
        let y = x * 2
        x.requiresGrad = false
        #expect(!x.requiresGrad)
        #expect(x.grad == nil)
        #expect(y.requiresGrad)
    }

    @Test func leavesAndIntermediatesAreDistinguished() {
        let x = leaf([1, 2])
        #expect(x.isLeaf)
        #expect(x.gradientFunctionName == "leaf")
        let y = x.exp()
        #expect(!y.isLeaf)
        #expect(y.gradientFunctionName == "exp")
        y.sum().backward()
        #expect(y.grad == nil)   // only leaves keep gradients
        #expect(x.grad != nil)
    }

    // MARK: Seeds, retainGraph, fan-out

    @Test func backwardWithASeedComputesTheVectorJacobianProduct() {
        let x = leaf([1, 2, 3])
        x.square().backward(Tensor([1, 10, 100] as [Double]))   // float32 seed converts to x's dtype
        expectValues(x.grad!, [2, 40, 600], tolerance: 0)
    }

    @Test func backwardOfAScalarLeafSeedsOne() {
        let x = leaf([7], shape: [])
        x.backward()
        expectValues(x.grad!, [1], shape: [])
        let y = leaf([7], shape: [1, 1])
        (y * 2).backward()
        expectValues(y.grad!, [2], shape: [1, 1])
    }

    @Test func retainGraphAllowsASecondPassGivingDoubledGradients() {
        let x = leaf([1, 2, 3]), w = leaf([0.5, -1, 2])
        let loss = ((x * w).tanh() * x).sum()
        loss.backward(retainGraph: true)
        let gx = x.grad!, gw = w.grad!
        loss.backward()
        expectValues(x.grad!, gx.scalars(as: Double.self).map { 2 * $0 }, tolerance: 1e-15)
        expectValues(w.grad!, gw.scalars(as: Double.self).map { 2 * $0 }, tolerance: 1e-15)
    }

    @Test func separateGraphsOverTheSameLeavesBackpropagateIndependently() {
        let x = leaf([2])
        let a = x * 3, b = x.square()
        a.sum().backward()
        b.sum().backward()
        expectValues(x.grad!, [7])
    }

    @Test func fanOutAccumulatesEveryPath() {
        // y = x·x + exp(x) + x: three paths from x, one of them twice.
        let x = leaf([0.5])
        let y = x * x + x.exp() + x
        y.sum().backward()
        expectValues(x.grad!, [2 * 0.5 + 1.6487212707001282 + 1], tolerance: 1e-15)
    }

    @Test func diamondGraphVisitsEachNodeOnceInTopologicalOrder() {
        // h = exp(x) feeds two branches that meet again: ∂/∂x [sin(h)·h] = (cos h · h + sin h)·h.
        let x = leaf([0.3, -0.7])
        expectGradientsMatch({ z in
            let h = z[0].exp()
            let s = h.sin(), t = h * 2
            return s * t + (s + t).square()
        }, at: [x.detached()])
    }

    @Test func gradientsOfFloat32GraphsAreFloat32() {
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        (x * x).sum().backward()
        #expect(x.grad!.dtype == .float32)
        expectValues(x.grad!, [2, 4])
    }

    @Test func float32GradientsAgreeWithFloat64() {
        // The same MLP loss in both precisions: Float32 backward matches Float64 to float precision.
        func grads(_ dtype: DType) -> [Tensor] {
            let g = RandomGenerator(seed: 142)
            let x = Tensor.randn([16, 8], dtype: dtype, generator: g)
            var p = [Tensor.randn([8, 6], std: 0.4, dtype: dtype, generator: g), Tensor.randn([6], dtype: dtype, generator: g),
                     Tensor.randn([6, 3], std: 0.4, dtype: dtype, generator: g)]
            for i in p.indices { p[i].requiresGrad = true }
            let logits = (x.matmul(p[0]) + p[1]).tanh().matmul(p[2])
            (-logits.logSoftmax(axis: 1).gather((0..<16).map { $0 % 3 }, axis: 1).mean()).backward()
            return p.map { $0.grad!.to(.float64) }
        }
        for (f, d) in zip(grads(.float32), grads(.float64)) {
            expectValues(f, d.scalars(as: Double.self), tolerance: 1e-5)
        }
    }

    @Test func leavesThatDoNotReachTheOutputGetNoGradient() {
        let x = leaf([1]), unused = leaf([2])
        _ = unused * 2
        (x * 2).sum().backward()
        #expect(unused.grad == nil)
    }

    // MARK: Deep graphs (no recursion)

    @Test func chainOf100kOpsBackpropagatesWithoutStackOverflow() {
        // J = x · 1.0001^100000, so ∂J/∂x = 1.0001^100000 = 22015.456048527…
        let x = leaf([1], shape: [])
        let y = chain(from: x, length: 100_000)
        y.backward()
        var expected = 1.0
        for _ in 0..<100_000 { expected *= 1.0001 }   // the same multiplications, in order
        #expect(x.grad!.item() == expected)
        #expect((x.grad!.item() - 22015.456048527933).magnitude < 1e-6)
        #expect((y.item() - 22015.456048527933).magnitude < 1e-6)
    }

    @Test func droppingAnUnbackpropagated100kChainDoesNotCrash() {
        let x = leaf([1], shape: [])
        do {
            let y = chain(from: x, length: 100_000)
            #expect(y.requiresGrad)
        }   // the whole graph is released here, iteratively
        do {
            let y = chain(from: x, length: 100_000)
            y.backward(retainGraph: true)   // keeps the graph; then drop it
        }
        #expect(x.grad != nil)
    }

    @Test func deepChainWithBranchesBackpropagates() {
        // y ← 0.5·y + 0.5·x, 20,000 times: every step adds a second path back to x.
        let x = leaf([1], shape: [])
        var y = x
        for _ in 0..<20_000 { y = y * 0.5 + x * 0.5 }
        y.backward()
        // y stays 1 and ∂y/∂x = 0.5ⁿ + Σ 0.5ᵏ·0.5 = 1.
        #expect((y.item() - 1).magnitude < 1e-12)
        #expect((x.grad!.item() - 1).magnitude < 1e-12)
    }
}

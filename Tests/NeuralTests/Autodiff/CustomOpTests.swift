import Neural
import Testing

/// The docs' example: swish(z) = z·sigmoid(z) with B[swish, z](v) = v ⊙ (s + z·s·(1 − s)).
private struct Swish: DifferentiableFunction {
    var name: String { "swish" }
    func forward(_ z: [Tensor]) -> Tensor { z[0] * z[0].sigmoid() }
    func backward(_ v: Tensor, inputs z: [Tensor], output u: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        let s = z[0].sigmoid()
        return [v * (s + z[0] * s * (1 - s))]
    }
}

/// A two-input module u = a·b + b (elementwise), using its output in the backward function.
private struct MulAdd: DifferentiableFunction {
    var name: String { "mulAdd" }
    func forward(_ z: [Tensor]) -> Tensor { z[0] * z[1] + z[1] }
    func backward(_ v: Tensor, inputs z: [Tensor], output u: Tensor, needsGradient: [Bool]) -> [Tensor?] {
        // ∂u/∂b = a + 1 = u / b.
        [needsGradient[0] ? v * z[1] : nil, needsGradient[1] ? v * u / z[1] : nil]
    }
}

/// y = x³ through `Tensor.differentiable`, exactly as in the documentation.
private func cube(_ x: Tensor) -> Tensor {
    Tensor.differentiable("cube", x,
        forward: { z in z[0] * z[0] * z[0] },
        backward: { v, z, _, _ in [3 * z[0] * z[0] * v] })
}

/// A reference type for observing what a backward closure saw.
private final class Observation {
    var needs: [Bool] = []
    var gradModeEnabled = true
    var inputsRequiredGrad = true
    var calls = 0
}

@Suite("Custom differentiable operations (B3, eq. 7.56–7.59)")
struct CustomOpTests {
    @Test func cubeViaDifferentiableIsGradientChecked() {
        expectGradientsMatch({ cube($0[0]) }, at: [seededUniform([2, 3], seed: 150, low: -2, high: 2)])
        expectGradientsMatch({ (cube($0[0]) * $0[1]).sin() },
                             at: [seededUniform([3], seed: 151), seededUniform([2, 3], seed: 152)])
    }

    @Test func cubeForwardValueAndName() {
        var x = Tensor([1, -2, 3] as [Double])
        x.requiresGrad = true
        let y = cube(x)
        expectValues(y, [1, -8, 27])
        #expect(y.gradientFunctionName == "cube")
        y.sum().backward()
        expectValues(x.grad!, [3, 12, 27])
    }

    @Test func swishViaDifferentiableFunctionIsGradientChecked() {
        expectGradientsMatch({ Tensor.apply(Swish(), $0[0]) }, at: [seededUniform([2, 3, 4], seed: 153, low: -4, high: 4)])
        let x = Tensor([-1, 0, 2] as [Double], dtype: .float64)
        expectValues(Tensor.apply(Swish(), x), (x * x.sigmoid()).scalars(as: Double.self), tolerance: 0)
        var y = x
        y.requiresGrad = true
        #expect(Tensor.apply(Swish(), y).gradientFunctionName == "swish")
    }

    @Test func multiInputFunctionIsGradientChecked() {
        expectGradientsMatch({ Tensor.apply(MulAdd(), $0[0], $0[1]) },
                             at: [seededUniform([2, 3], seed: 154), seededUniform([2, 3], seed: 155, low: 0.5, high: 2)])
    }

    @Test func needsGradientTellsWhichInputsRequireGradients() {
        let seen = Observation()
        var a = Tensor([1, 2] as [Double]), b = Tensor([3, 4] as [Double])
        a.requiresGrad = true
        let u = Tensor.differentiable("probe", [a, b], forward: { z in z[0] * z[1] }) { v, z, _, needs in
            seen.needs = needs
            seen.calls += 1
            seen.gradModeEnabled = GradMode.isEnabled
            seen.inputsRequiredGrad = z.contains { $0.requiresGrad }
            return [needs[0] ? v * z[1] : nil, needs[1] ? v * z[0] : nil]
        }
        u.sum().backward()
        #expect(seen.calls == 1)
        #expect(seen.needs == [true, false])
        #expect(!seen.gradModeEnabled)
        #expect(!seen.inputsRequiredGrad)
        expectValues(a.grad!, [3, 4])
        #expect(b.grad == nil)
    }

    @Test func forwardRunsWithoutRecordingHistory() {
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        var enabledInForward = true, inputRequiredGrad = true
        let y = Tensor.differentiable("look", x, forward: { z in
            enabledInForward = GradMode.isEnabled
            inputRequiredGrad = z[0].requiresGrad
            return z[0] * 2
        }, backward: { v, _, _, _ in [v * 2] })
        #expect(!enabledInForward)
        #expect(!inputRequiredGrad)
        #expect(y.requiresGrad)
    }

    @Test func customOpOnTensorsWithoutGradRecordsNothing() {
        let y = cube(Tensor([2] as [Double]))
        #expect(!y.requiresGrad)
        expectValues(y, [8])
        var x = Tensor([2] as [Double])
        x.requiresGrad = true
        #expect(!withNoGrad { cube(x) }.requiresGrad)
    }

    @Test func customOpsComposeWithBuiltInsInATrainingStep() {
        // A tiny regression with a swish hidden layer whose cube-output is trained by SGD.
        let g = RandomGenerator(seed: 156)
        let x = Tensor.randn([16, 3], dtype: .float64, generator: g)
        let target = (x.sum(axis: 1, keepDims: true) * 0.3).tanh()
        var w = Tensor.randn([3, 1], std: 0.3, dtype: .float64, generator: g)
        w.requiresGrad = true
        func loss() -> Tensor { (cube(Tensor.apply(Swish(), x.matmul(w))) - target).square().mean() }
        let initial = loss().item()
        for _ in 0..<100 {
            w.zeroGrad()
            loss().backward()
            withNoGrad { w.addInPlace(w.grad!, scale: -0.05) }
        }
        #expect(loss().item() < initial * 0.5)
    }
}

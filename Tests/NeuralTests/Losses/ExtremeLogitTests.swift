import Neural
import Testing

/// Losses and their gradients stay finite and exact for logits of ±1e4 (where a naive
/// exp overflows to +Inf and log(0) is −Inf), in Float32 and Float64.
@Suite("Extreme logits")
struct ExtremeLogitTests {
    private static func values(_ t: Tensor) -> [Double] { t.scalars(as: Double.self) }

    @Test(arguments: [DType.float32, .float64])
    func crossEntropyIsExactAtPlusMinus1e4(dtype: DType) {
        var logits = Tensor([[1e4, -1e4, 0], [1e4, -1e4, 0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype: dtype)
        logits.requiresGrad = true
        let labels = [0, 1, 1, 0]
        let perRow = crossEntropyLoss(logits: logits, labels: labels, reduction: .none)
        let expected = [0, 2e4, 2e4, 0.6931471805599453]
        for (got, want) in zip(Self.values(perRow), expected) {
            #expect(got.isFinite && abs(got - want) <= 1e-6 * max(1, want), "\(dtype): loss \(got), expected \(want)")
        }
        crossEntropyLoss(logits: logits, labels: labels, reduction: .sum).backward()
        let g = Self.values(logits.grad!)
        // softmax(t) − e_y per row.
        let expectedGrad: [Double] = [0, 0, 0, 1, -1, 0, 0, -1, 1, -0.5, 0.5, 0]
        #expect(!g.contains { !$0.isFinite }, "\(dtype): gradient \(g)")
        for (got, want) in zip(g, expectedGrad) { #expect(abs(got - want) <= 1e-6, "\(dtype): gradient \(g)") }
    }

    @Test(arguments: [DType.float32, .float64])
    func logisticLossIsExactAtPlusMinus1e4(dtype: DType) {
        var t = Tensor([1e4, 1e4, -1e4, -1e4], dtype: dtype)
        t.requiresGrad = true
        let y = Tensor([1, 0, 1, 0], dtype: dtype)
        let loss = logisticLoss(logits: t, targets: y, reduction: .none)
        #expect(Self.values(loss) == [0, 1e4, 1e4, 0], "\(dtype): \(Self.values(loss))")
        logisticLoss(logits: t, targets: y, reduction: .sum).backward()
        #expect(Self.values(t.grad!) == [0, 1, -1, 0], "\(dtype): σ(t) − y = \(Self.values(t.grad!))")
    }

    @Test(arguments: [DType.float32, .float64])
    func softmaxAndLogSoftmaxStayFiniteAtPlusMinus1e4(dtype: DType) {
        var x = Tensor([[1e4, -1e4, 0]], dtype: dtype)
        x.requiresGrad = true
        let logP = x.logSoftmax(axis: 1)
        #expect(Self.values(logP) == [0, -2e4, -1e4], "\(dtype): \(Self.values(logP))")
        let p = x.softmax(axis: 1)
        #expect(Self.values(p) == [1, 0, 0], "\(dtype): \(Self.values(p))")
        // ∂ log p₁ / ∂x = e₁ − softmax(x).
        (logP * Tensor([[0, 1, 0]], dtype: dtype)).sum().backward()
        #expect(Self.values(x.grad!) == [-1, 1, 0], "\(dtype): \(Self.values(x.grad!))")
        x.zeroGrad()
        // ∂ p₀ / ∂x = p₀ (e₀ − p) = 0 here; no 0·Inf anywhere.
        (p * Tensor([[1, 0, 0]], dtype: dtype)).sum().backward()
        #expect(Self.values(x.grad!) == [0, 0, 0], "\(dtype): \(Self.values(x.grad!))")
    }
}

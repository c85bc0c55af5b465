import Neural
import Testing

/// B4: the forward pass keeps what the backward functions need, and the backward pass lets go
/// of each intermediate as soon as its backward function has run.
@Suite struct SavedIntermediatesTests {
    /// Stands in for a saved intermediate; `weak` references to it show when it is freed.
    final class Saved: @unchecked Sendable {}

    /// An identity op whose backward function holds `saved` alive until it is released.
    private func identity(_ x: Tensor, holding saved: Saved) -> Tensor {
        Tensor.differentiable("holder", x, forward: { $0[0] }, backward: { v, _, _, _ in
            withExtendedLifetime(saved) { [v] }
        })
    }

    @Test func intermediatesAreReleasedByBackward() {
        var x = Tensor([1, 2, 3]); x.requiresGrad = true
        weak var probe: Saved?
        let loss: Tensor = {
            let s = Saved()
            probe = s
            return identity(x, holding: s).sum()
        }()
        #expect(probe != nil, "the graph keeps the intermediate until backward")
        loss.backward()
        #expect(probe == nil, "backward released the intermediate although `loss` is still alive")
        #expect(x.grad!.scalars() == [1, 1, 1])
    }

    @Test func retainGraphKeepsIntermediatesForASecondPass() {
        var x = Tensor([1, 2, 3]); x.requiresGrad = true
        weak var probe: Saved?
        let loss: Tensor = {
            let s = Saved()
            probe = s
            return identity(x, holding: s).sum()
        }()
        loss.backward(retainGraph: true)
        #expect(probe != nil)
        loss.backward()
        #expect(probe == nil)
        #expect(x.grad!.scalars() == [2, 2, 2])
    }

    @Test func droppingAnUnusedGraphReleasesIntermediates() {
        var x = Tensor([1, 2, 3]); x.requiresGrad = true
        weak var probe: Saved?
        do {
            let s = Saved()
            probe = s
            _ = identity(x, holding: s).sum()
        }
        #expect(probe == nil)
    }
}

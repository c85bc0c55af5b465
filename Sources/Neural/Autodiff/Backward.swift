import Synchronization

/// Reverse-mode automatic differentiation over the recorded graph (§7.4): the forward pass kept
/// every intermediate the backward functions need (B4); `backward()` visits the operations once
/// each in reverse topological order, applying B[g, z] to ∂J/∂u, so its cost is a constant
/// times the forward pass (Theorem 7.4.1).
extension Tensor {
    /// Whether operations on this tensor record history for ``backward(_:retainGraph:)``.
    ///
    /// Setting it to `true` on a tensor makes it a leaf whose ``grad`` accumulates ∂J/∂self
    /// (floating-point tensors only); setting it to `false` detaches the tensor.
    public var requiresGrad: Bool {
        get { node != nil }
        set {
            if newValue {
                guard dtype.isFloatingPoint else {
                    fatalError("Neural: requiresGrad needs a floating-point tensor, got \(dtype) (shape \(shape)); integer tensors are never differentiated")
                }
                if node == nil { node = GradNode(leafShape: shape, dtype: dtype) }
            } else {
                node = nil
            }
        }
    }

    /// Whether this tensor is a leaf of the autodiff graph (it requires gradients and was not
    /// produced by a recorded operation).
    public var isLeaf: Bool { node?.isLeaf ?? true }

    /// The accumulated gradient ∂J/∂self of a leaf after ``backward(_:retainGraph:)``, with this
    /// tensor's shape (B2); `nil` before any backward pass or after ``zeroGrad()``.
    public var grad: Tensor? {
        get { node?.isLeaf == true ? node?.grad : nil }
        nonmutating set {
            guard let node, node.isLeaf else { return }
            if let g = newValue {
                precondition(g.shape == shape, "Neural: gradient of shape \(g.shape) assigned to a tensor of shape \(shape)")
            }
            node.grad = newValue
        }
    }

    /// Clears the accumulated gradient (gradients add up across backward passes until cleared).
    public func zeroGrad() { grad = nil }

    /// The same values without autodiff history: gradients do not flow through the result.
    public func detached() -> Tensor {
        var t = self
        t.node = nil
        return t
    }

    /// The name of the operation that produced this tensor (`leaf` for leaves, `nil` when it does not require gradients).
    package var gradientFunctionName: String? { node?.op }

    /// Computes ∂J/∂x for every leaf x that J depends on and adds it to `x.grad`.
    ///
    /// - Parameters:
    ///   - seed: ∂J/∂self; `nil` means J is this tensor, which must then have one element.
    ///   - retainGraph: keep the intermediates so backward can run again over the same graph.
    ///     By default they are released as soon as each backward function has run.
    public func backward(_ seed: Tensor? = nil, retainGraph: Bool = false) {
        guard let root = node else {
            preconditionFailure("Neural: backward() on a tensor that does not require gradients (shape \(shape)); set requiresGrad = true on the inputs first")
        }
        let v: Tensor
        if let seed {
            precondition(seed.shape == shape, "Neural: backward seed has shape \(seed.shape) but the tensor has shape \(shape)")
            v = seed.to(dtype).detached()
        } else {
            precondition(count == 1, "Neural: backward() without a seed needs a scalar, got shape \(shape); reduce first (e.g. .sum() or .mean())")
            v = Tensor.ones(shape, dtype: dtype)
        }
        withNoGrad { Autodiff.run(root: root, seed: v, retainGraph: retainGraph) }
    }

    /// ``backward(_:retainGraph:)`` of a scalar that reports each leaf as soon as its gradient is
    /// complete (see `Autodiff.run`), for data-parallel training.
    func backward(leafReady: @escaping (GradNode) -> Void) {
        guard let root = node else {
            preconditionFailure("Neural: backward() on a tensor that does not require gradients (shape \(shape)); set requiresGrad = true on the inputs first")
        }
        precondition(count == 1, "Neural: backward() without a seed needs a scalar, got shape \(shape); reduce first (e.g. .sum() or .mean())")
        let v = Tensor.ones(shape, dtype: dtype)
        withNoGrad { Autodiff.run(root: root, seed: v, retainGraph: false, leafReady: leafReady) }
    }
}

/// The backward-pass engine.
enum Autodiff {
    private static let epoch = Atomic<UInt64>(0)

    /// Visits each node reachable from `root` once, in decreasing creation order — a reverse
    /// topological order, since an operation is always created after its inputs. A max-heap keyed
    /// by creation number holds the frontier, so a node's backward runs only after every consumer
    /// has added its contribution to ∂J/∂u. Work is O(N log W) for N nodes and a frontier of W
    /// (W ≤ 2 for a chain: linear), with no recursion, and each node (with its saved
    /// intermediates) is released as soon as its backward function has run.
    ///
    /// With `leafReady`, each leaf is reported as soon as its gradient is complete — when the last
    /// of its consumers has run its backward function — rather than when the heap reaches it
    /// (parameters are created before any operation, so the heap visits them last). A first pass
    /// counts each leaf's incoming edges; data-parallel training starts a bucket's allreduce from
    /// here while the rest of the backward pass runs. A leaf for which some backward function
    /// returned no gradient is never reported; the caller deals with it after the pass.
    static func run(root: GradNode, seed: Tensor, retainGraph: Bool, leafReady: ((GradNode) -> Void)? = nil) {
        var pending: [ObjectIdentifier: Int] = [:]
        if leafReady != nil {
            let mark = epoch.add(1, ordering: .relaxed).newValue
            var stack = [root]
            root.visit = mark
            while let n = stack.popLast() {
                for case let input? in n.inputs {
                    if input.isLeaf { pending[ObjectIdentifier(input), default: 0] += 1 }
                    if input.visit != mark {
                        input.visit = mark
                        stack.append(input)
                    }
                }
            }
        }
        let mark = epoch.add(1, ordering: .relaxed).newValue
        var frontier = NodeHeap()
        root.visit = mark
        frontier.push(root)
        accumulate(root, seed)
        while let n = frontier.pop() {
            guard let v = n.grad else { continue }
            if n.isLeaf { continue }
            n.grad = nil
            guard let backward = n.backward else {
                preconditionFailure("Neural: backward through '\(n.op)' a second time; its intermediates were released. Pass retainGraph: true to the first backward()")
            }
            let needs = n.inputs.map { $0 != nil }
            let grads = backward(v, needs)
            precondition(grads.count == n.inputs.count,
                         "Neural: backward of '\(n.op)' returned \(grads.count) gradients for \(n.inputs.count) inputs")
            for (i, input) in n.inputs.enumerated() {
                guard let input, let g = grads[i] else { continue }
                precondition(g.shape == input.shape,
                             "Neural: backward of '\(n.op)' returned a gradient of shape \(g.shape) for input \(i) of shape \(input.shape)")
                accumulate(input, g.dtype == input.dtype ? g : g.to(input.dtype))
                if let leafReady, input.isLeaf, let left = pending[ObjectIdentifier(input)] {
                    if left <= 1 {
                        pending[ObjectIdentifier(input)] = nil
                        leafReady(input)
                    } else {
                        pending[ObjectIdentifier(input)] = left - 1
                    }
                }
                if input.visit != mark {
                    input.visit = mark
                    frontier.push(input)
                }
            }
            if !retainGraph {
                n.backward = nil
                n.inputs = []
            }
        }
        if let leafReady, root.isLeaf, pending[ObjectIdentifier(root)] == nil {
            leafReady(root)
        }
    }

    @inline(__always)
    private static func accumulate(_ n: GradNode, _ g: Tensor) {
        if var existing = n.grad {
            n.grad = nil
            existing.addInPlace(g)
            n.grad = existing
        } else {
            n.grad = g.detached()
        }
    }
}

/// A binary max-heap of graph nodes ordered by creation number.
private struct NodeHeap {
    private var items: [GradNode] = []

    mutating func push(_ n: GradNode) {
        items.append(n)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent].sequence >= items[i].sequence { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> GradNode? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && items[l].sequence > items[m].sequence { m = l }
            if r < n && items[r].sequence > items[m].sequence { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}

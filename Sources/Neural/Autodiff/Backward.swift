import Synchronization

/// Reverse-mode automatic differentiation over the recorded graph (§7.4): the forward pass kept
/// every intermediate the backward functions need (B4); `backward()` visits the operations once
/// each in reverse topological order, applying B[g, z] to ∂J/∂u, so its cost is a constant
/// times the forward pass (Theorem 7.4.1).
extension Tensor {
    /// Whether operations on this tensor record history for ``backward(_:retainGraph:)``.
    ///
    /// Setting it to `true` on a tensor makes it a leaf whose ``grad`` accumulates ∂J/∂self;
    /// setting it to `false` detaches the tensor.
    public var requiresGrad: Bool {
        get { node != nil }
        set {
            if newValue {
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
    public var gradientFunctionName: String? { node?.op }

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
}

/// The backward-pass engine.
enum Autodiff {
    private static let epoch = Atomic<UInt64>(0)

    /// Post-order depth-first traversal with an explicit stack (no recursion), then one sweep in
    /// reverse topological order: O(nodes + edges).
    static func run(root: GradNode, seed: Tensor, retainGraph: Bool) {
        let mark = epoch.add(1, ordering: .relaxed).newValue
        var order: [GradNode] = []
        var stack: [(GradNode, Int)] = [(root, 0)]
        root.visit = mark
        while let (n, next) = stack.popLast() {
            if next < n.inputs.count {
                stack.append((n, next + 1))
                if let child = n.inputs[next], child.visit != mark {
                    child.visit = mark
                    stack.append((child, 0))
                }
            } else {
                order.append(n)
            }
        }
        accumulate(root, seed)
        for n in order.reversed() {
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
            }
            if !retainGraph {
                n.backward = nil
                n.inputs = []
            }
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

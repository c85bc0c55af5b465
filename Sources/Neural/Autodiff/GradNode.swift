import Synchronization

/// The backward function B[g, z](v) of an operation (eq. 7.57): given v = ∂J/∂u for the
/// operation's output u (same shape as u), returns ∂J/∂zᵢ for each input zᵢ, each with exactly
/// zᵢ's shape (B2), or `nil` for inputs that need no gradient (`needsGradient[i] == false`).
typealias BackwardFunction = (_ v: Tensor, _ needsGradient: [Bool]) -> [Tensor?]

/// One vertex of the autodiff graph: either a leaf (a tensor the user marked with
/// `requiresGrad`, which accumulates ``Tensor/grad``) or the record of an operation: its inputs'
/// nodes and its backward function, which holds the intermediates the backward pass needs.
final class GradNode: @unchecked Sendable {
    /// The operation's name, e.g. `matmul` (`leaf` for leaves).
    let op: String
    let shape: [Int]
    let dtype: DType
    /// Nodes of the inputs (nil for inputs that do not require gradients).
    var inputs: [GradNode?]
    /// B[g, z]; released (with the intermediates it captured) once the backward pass used it.
    var backward: BackwardFunction?
    /// Accumulated gradient: for a leaf, ``Tensor/grad``; for an op, ∂J/∂u during a backward pass.
    var grad: Tensor?
    /// Traversal mark for the backward pass.
    var visit: UInt64 = 0
    /// Creation number: an operation is always created after its inputs, so decreasing
    /// `sequence` is a reverse topological order.
    let sequence: UInt64

    private static let counter = Atomic<UInt64>(0)

    var isLeaf: Bool { op == "leaf" }

    init(leafShape shape: [Int], dtype: DType) {
        self.op = "leaf"
        self.shape = shape
        self.dtype = dtype
        self.inputs = []
        self.backward = nil
        self.sequence = GradNode.counter.add(1, ordering: .relaxed).newValue
    }

    init(op: String, shape: [Int], dtype: DType, inputs: [GradNode?], backward: @escaping BackwardFunction) {
        self.op = op
        self.shape = shape
        self.dtype = dtype
        self.inputs = inputs
        self.backward = backward
        self.sequence = GradNode.counter.add(1, ordering: .relaxed).newValue
    }

    /// Releases the graph iteratively: dropping the last reference to the head of a chain of
    /// 100,000 operations must not recurse 100,000 deinitialisers deep.
    deinit {
        backward = nil
        var stack: [GradNode] = []
        for case let n? in inputs { stack.append(n) }
        inputs = []
        while var n = stack.popLast() {
            if isKnownUniquelyReferenced(&n) {
                n.backward = nil
                for case let m? in n.inputs { stack.append(m) }
                n.inputs = []
            }
        }
    }
}

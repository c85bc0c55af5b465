/// An n-dimensional array of `Float` (default), `Double`, `Int32` or `Int64` values, stored row-major, with value
/// semantics: copies share memory until one of them is written (copy-on-write).
///
/// Examples run along dimension 0 (eq. 7.84): a batch of `B` inputs with `d` features is a tensor of
/// shape `[B, d]`. A tensor can record the operations applied to it (``requiresGrad``) so that
/// ``backward(_:retainGraph:)`` computes gradients by reverse-mode automatic differentiation (§7.4).
///
/// ```swift
/// var w = Tensor.randn([3, 2], generator: RandomGenerator(seed: 0))
/// w.requiresGrad = true
/// let x = Tensor([[1, 2, 3]])              // [1, 3]
/// let loss = (x.matmul(w)).relu().sum()    // scalar
/// loss.backward()
/// print(w.grad!)                           // ∂loss/∂w, shape [3, 2]
/// ```
public struct Tensor: Sendable {
    var storage: Storage
    /// The size of each dimension, outermost first. A scalar has shape `[]`.
    public private(set) var shape: [Int]
    /// Elements to step in storage per index step of each dimension.
    var strides: [Int]
    /// First element's position in storage.
    var offset: Int
    /// The autodiff record: a leaf that accumulates ``grad`` or the node of the op that produced this value.
    var node: GradNode?

    /// A tensor over `storage` with the given layout (no autodiff record).
    init(storage: Storage, shape: [Int], strides: [Int], offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.node = nil
    }

    /// A new, uninitialised, contiguous tensor.
    init(uninitialized shape: [Int], dtype: DType) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Neural: negative dimension in shape \(shape)")
        self.init(storage: Storage(count: Shape.count(shape), dtype: dtype),
                  shape: shape, strides: Shape.contiguousStrides(shape))
    }

    /// The element type.
    public var dtype: DType { storage.dtype }
    /// Number of dimensions (`shape.count`).
    public var rank: Int { shape.count }
    /// Number of elements (product of `shape`; 1 for a scalar).
    public var count: Int { Shape.count(shape) }
    /// Whether the elements are laid out row-major without gaps (views may not be).
    public var isContiguous: Bool { Shape.isContiguous(shape: shape, strides: strides) }

    /// The size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[Shape.normalize(axis, rank: rank)] }

    // MARK: Raw element access (kernels)

    /// Pointer to the first element; valid while `self` is alive. Kernels call it on contiguous tensors.
    @inline(__always) func pointer<T: TensorElement>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.pointer(T.self) + offset
    }

    /// A contiguous, row-major tensor with the same values (and the same autodiff record: layout is
    /// invisible to gradients). Returns `self` when already contiguous.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        var out = Tensor(uninitialized: shape, dtype: dtype)
        StridedCopy.copy(from: self, into: out.storage)
        out.node = node
        return out
    }

    /// Makes `self` contiguous and the sole owner of its storage, so it can be written in place.
    mutating func makeUniqueContiguous() {
        if isContiguous && offset == 0 && storage.count == count && isKnownUniquelyReferenced(&storage) { return }
        let keep = node
        var out = Tensor(uninitialized: shape, dtype: dtype)
        StridedCopy.copy(from: self, into: out.storage)
        out.node = keep
        self = out
    }

    /// Replaces the layout (shape/strides) over the same storage. Internal: views call it.
    func withLayout(shape: [Int], strides: [Int], offset: Int) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    // MARK: Reading values

    /// The value of a one-element tensor (any shape with `count == 1`), as `Double` (an Int64 above
    /// 2⁵³ rounds; read it exactly with `scalars(as: Int64.self)`).
    public func item() -> Double {
        precondition(count == 1, "Neural: item() needs a tensor with one element, got shape \(shape)")
        return storageElement(offset)
    }

    /// The element at a full index (one entry per dimension, negative counts from the end), as `Double`.
    public func item(at index: [Int]) -> Double {
        precondition(index.count == rank, "Neural: index \(index) has \(index.count) entries for a tensor of shape \(shape)")
        var pos = offset
        for (d, i) in index.enumerated() {
            let n = shape[d]
            let j = i < 0 ? i + n : i
            precondition(j >= 0 && j < n, "Neural: index \(i) out of range for dimension \(d) of size \(n) (shape \(shape))")
            pos += j * strides[d]
        }
        return storageElement(pos)
    }

    /// Element `position` of the storage (not of the view), as `Double`.
    private func storageElement(_ position: Int) -> Double {
        switch dtype {
        case .float32: return Double(storage.pointer(Float.self)[position])
        case .float64: return storage.pointer(Double.self)[position]
        case .int32: return Double(storage.pointer(Int32.self)[position])
        case .int64: return Double(storage.pointer(Int64.self)[position])
        }
    }

    /// Writes `body`'s changes to the elements (row-major, contiguous) of this tensor in place.
    /// Copies first if the storage is shared (copy-on-write). Does not record autodiff history:
    /// use it for initialisation and optimiser updates.
    ///
    /// - Precondition: `T` matches ``dtype``.
    public mutating func withUnsafeMutableScalars<T: TensorElement, R>(
        as _: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "Neural: withUnsafeMutableScalars(as: \(T.self)) on a \(dtype) tensor")
        makeUniqueContiguous()
        return try body(UnsafeMutableBufferPointer(start: pointer(T.self), count: count))
    }

    /// Calls `body` with the elements (row-major) of this tensor.
    ///
    /// - Precondition: `T` matches ``dtype``.
    public func withUnsafeScalars<T: TensorElement, R>(
        as _: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "Neural: withUnsafeScalars(as: \(T.self)) on a \(dtype) tensor")
        let c = contiguous()
        return try withExtendedLifetime(c) {
            try body(UnsafeBufferPointer(start: c.pointer(T.self), count: count))
        }
    }
}

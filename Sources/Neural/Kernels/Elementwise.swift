import CNeuralKernels

/// A vectorised Float32 kernel over `n` contiguous elements: `(x, y, n)`; `y` may equal `x`.
typealias FloatKernel = (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

/// A scalar function applied elementwise. Kernels are generic over the functor type, so each
/// functor specialises into its own tight loop (no closure call per element).
protocol UnaryFunctor {
    func apply<T: KernelScalar>(_ x: T) -> T
    /// Elements per parallel block (smaller for expensive functions).
    static var grain: Int { get }
    /// A SIMD C kernel for Float32 (CNeuralKernels), used instead of `apply` when present.
    var floatKernel: FloatKernel? { get }
    /// The same kernel with non-temporal stores, for outputs too large for the cache (see
    /// ``Elementwise/streamingBytes``); `nil` if it has none.
    var streamingFloatKernel: FloatKernel? { get }
}

extension UnaryFunctor {
    static var grain: Int { 1 << 15 }
    var floatKernel: FloatKernel? { nil }
    var streamingFloatKernel: FloatKernel? { nil }
}

/// A scalar function of two arguments applied elementwise with broadcasting.
protocol BinaryFunctor {
    func apply<T: KernelScalar>(_ a: T, _ b: T) -> T
    /// The function on integers (wrapping arithmetic, as torch), or `nil` for a float-only function.
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64?
    static var grain: Int { get }
}

extension BinaryFunctor {
    static var grain: Int { 1 << 15 }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { nil }
}

/// Elementwise kernels: contiguous fast paths, broadcasting through zero strides, both cores
/// above a size threshold. They produce plain values; the ops in `Ops/` add the autodiff record.
enum Elementwise {
    /// Out-of-place results of at least this many bytes are written with non-temporal stores
    /// where the kernel has them: input and output then do not both stay in the last-level cache,
    /// and skipping the read-for-ownership of the output cuts the memory traffic from 3 to 2
    /// passes. 16 MiB, half a 32 MiB L3; a constant because `sysconf` reports the host's whole L3
    /// inside VMs (docs/PERFORMANCE.md).
    static let streamingBytes = 16 << 20

    /// Whether a result of `bytes` bytes is written with non-temporal stores.
    @inline(__always)
    static func streams(bytes: Int) -> Bool { bytes >= streamingBytes }

    /// `f(x)` elementwise, into a new contiguous tensor of `x`'s shape.
    static func unary<F: UnaryFunctor>(_ x: Tensor, _ f: F) -> Tensor {
        let x = x.contiguous()
        let out = Tensor(uninitialized: x.shape, dtype: x.dtype)
        withExtendedLifetime(x) { run(x, into: out, f) }
        return out
    }

    /// Whether an op may overwrite `x`'s storage with its result: no autodiff record will need
    /// `x`, and `x` is the only, contiguous, whole view of its storage (a temporary, or a value
    /// whose last use this is). Value semantics are kept: nobody else can see the storage.
    @inline(__always)
    static func canOverwrite(_ x: inout Tensor) -> Bool {
        !(GradMode.enabled && x.node != nil) && x.offset == 0 && x.storage.count == x.count
            && x.isContiguous && isKnownUniquelyReferenced(&x.storage)
    }

    /// `f(x)` written over `x`'s own storage when ``canOverwrite(_:)`` allows, else nil.
    @inline(__always)
    static func unaryInPlace<F: UnaryFunctor>(_ x: inout Tensor, _ f: F) -> Tensor? {
        guard canOverwrite(&x) else { return nil }
        var out = x
        out.node = nil
        run(out, into: out, f)
        return out
    }

    /// Applies `f` to contiguous `x` into contiguous `out` (same count; may be the same storage).
    @inline(__always)
    private static func run<F: UnaryFunctor>(_ x: Tensor, into out: Tensor, _ f: F) {
        if x.dtype == .float32,
           let kernel = (streams(bytes: x.count * 4) && x.storage !== out.storage ? f.streamingFloatKernel : nil)
                ?? f.floatKernel {
            let xs = SendablePointer(x.pointer(Float.self)), ys = SendablePointer(out.pointer(Float.self))
            Parallel.forRanges(count: x.count, grain: F.grain) { r in
                kernel(xs.pointer + r.lowerBound, ys.pointer + r.lowerBound, r.count)
            }
            return
        }
        switch x.dtype {
        case .float32: unaryLoop(Float.self, x, out, f)
        case .float64: unaryLoop(Double.self, x, out, f)
        case .int32, .int64: x.dtype.floatOnly("this elementwise function")
        }
    }

    @inline(__always)
    private static func unaryLoop<T: KernelScalar, F: UnaryFunctor>(_: T.Type, _ x: Tensor, _ y: Tensor, _ f: F) {
        let xs = SendablePointer(x.pointer(T.self)), ys = SendablePointer(y.pointer(T.self))
        Parallel.forRanges(count: x.count, grain: F.grain) { r in
            let x = xs.pointer, y = ys.pointer
            // In place as its own loop: the vectoriser gives up on a loop whose operands overlap.
            if x == y {
                for i in r { x[i] = f.apply(x[i]) }
            } else {
                for i in r { y[i] = f.apply(x[i]) }
            }
        }
    }

    /// `f(a, b)` elementwise with NumPy broadcasting, into a new contiguous tensor.
    /// With `into`, writes into that contiguous tensor of the broadcast shape instead (it may be `a`'s
    /// own storage when `a` is contiguous: each element is read before it is written).
    static func binary<F: BinaryFunctor>(_ a: Tensor, _ b: Tensor, _ f: F, op: String, into dest: Tensor? = nil) -> Tensor {
        precondition(a.dtype == b.dtype, "Neural: \(op): dtypes differ (\(a.dtype) vs \(b.dtype)); convert one with .to(_:)")
        let shape = Shape.broadcast(a.shape, b.shape, op: op)
        let out = dest ?? Tensor(uninitialized: shape, dtype: a.dtype)
        precondition(out.shape == shape && out.isContiguous && out.dtype == a.dtype, "Neural: \(op): bad destination")
        withExtendedLifetime((a, b)) {
            switch a.dtype {
            case .float32: binaryLoop(a, b, out, f, Float.self)
            case .float64: binaryLoop(a, b, out, f, Double.self)
            case .int32, .int64: integerBinary(a, b, out, f, op: op)
            }
        }
        return out
    }

    /// `f` on integer operands (one thread; integer tensors are ids and counts, not bulk data):
    /// both read in full before `out` (which may be either one's storage) is written.
    private static func integerBinary<F: BinaryFunctor>(_ a: Tensor, _ b: Tensor, _ out: Tensor, _ f: F, op: String) {
        let av = a.broadcast(to: out.shape).scalars(as: Int64.self), bv = b.broadcast(to: out.shape).scalars(as: Int64.self)
        guard f.applyInteger(0, 1) != nil else { a.dtype.floatOnly(op) }
        func write<T: TensorInteger>(_: T.Type) {
            let o = out.pointer(T.self)
            for i in 0..<av.count { o[i] = T(truncatingIfNeeded: f.applyInteger(av[i], bv[i])!) }
        }
        if out.dtype == .int32 { write(Int32.self) } else { write(Int64.self) }
    }

    @inline(__always)
    private static func binaryLoop<T: KernelScalar, F: BinaryFunctor>(
        _ a: Tensor, _ b: Tensor, _ out: Tensor, _ f: F, _: T.Type
    ) {
        let n = out.count
        if n == 0 { return }
        let ap = SendablePointer(a.pointer(T.self)), bp = SendablePointer(b.pointer(T.self))
        let op = SendablePointer(out.pointer(T.self))
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            Parallel.forRanges(count: n, grain: F.grain) { r in
                let a = ap.pointer, b = bp.pointer, o = op.pointer
                if o == a {
                    for i in r { o[i] = f.apply(o[i], b[i]) }
                } else if o == b {
                    for i in r { o[i] = f.apply(a[i], o[i]) }
                } else {
                    for i in r { o[i] = f.apply(a[i], b[i]) }
                }
            }
            return
        }
        let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
        let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
        let (shape, st) = Shape.coalesce(out.shape, [sa, sb, out.strides])
        let inner = shape.last!, ia = st[0].last!, ib = st[1].last!
        let rows = StridedLoop.rowCount(shape)
        Parallel.forRanges(count: rows, grain: max(1, F.grain / max(inner, 1))) { range in
            StridedLoop.rows(shape: shape, st[0], st[1], st[2], rows: range) { oa, ob, oo in
                let a = ap.pointer + oa, b = bp.pointer + ob, o = op.pointer + oo
                if ia == 1 && ib == 0 && o == a {
                    let bv = b[0]
                    for j in 0..<inner { o[j] = f.apply(o[j], bv) }
                } else if ia == 0 && ib == 1 && o == b {
                    let av = a[0]
                    for j in 0..<inner { o[j] = f.apply(av, o[j]) }
                } else if ia == 1 && ib == 1 && o == a {
                    for j in 0..<inner { o[j] = f.apply(o[j], b[j]) }
                } else if ia == 1 && ib == 1 && o == b {
                    for j in 0..<inner { o[j] = f.apply(a[j], o[j]) }
                } else if ia == 1 && ib == 1 {
                    for j in 0..<inner { o[j] = f.apply(a[j], b[j]) }
                } else if ia == 1 && ib == 0 {
                    let bv = b[0]
                    for j in 0..<inner { o[j] = f.apply(a[j], bv) }
                } else if ia == 0 && ib == 1 {
                    let av = a[0]
                    for j in 0..<inner { o[j] = f.apply(av, b[j]) }
                } else {
                    for j in 0..<inner { o[j] = f.apply(a[j * ia], b[j * ib]) }
                }
            }
        }
    }

    /// B[GELU](v) = v ⊙ (Φ(z) + z φ(z)) for Float32 `z` and `v` of one shape, by the SIMD C kernel
    /// (double precision per element), into a new contiguous tensor of that shape.
    static func geluGrad(_ z: Tensor, _ v: Tensor) -> Tensor {
        let zc = z.contiguous(), g = v.contiguous(), out = Tensor(uninitialized: z.shape, dtype: .float32)
        let zp = SendablePointer(zc.pointer(Float.self)), gp = SendablePointer(g.pointer(Float.self))
        let op = SendablePointer(out.pointer(Float.self))
        withExtendedLifetime((zc, g)) {
            Parallel.forRanges(count: z.count, grain: GELUGradF.grain) { r in
                nk_s_gelu_grad(zp.pointer + r.lowerBound, gp.pointer + r.lowerBound, op.pointer + r.lowerBound, r.count)
            }
        }
        return out
    }

    /// `cond != 0 ? a : b` elementwise with broadcasting of all three operands; `cond` may have any
    /// dtype, `a` and `b` share one.
    static func select(_ cond: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.dtype == b.dtype, "Neural: where: the two branches' dtypes differ (\(a.dtype) vs \(b.dtype)); convert one with .to(_:)")
        let shape = Shape.broadcast(Shape.broadcast(cond.shape, a.shape, op: "where"), b.shape, op: "where")
        let c = nonzero(cond.broadcast(to: shape).contiguous())
        let av = a.broadcast(to: shape).contiguous(), bv = b.broadcast(to: shape).contiguous()
        let out = Tensor(uninitialized: shape, dtype: a.dtype)
        withExtendedLifetime((c, av, bv)) {
            switch a.dtype {
            case .float32: selectLoop(Float.self, c, av, bv, out)
            case .float64: selectLoop(Double.self, c, av, bv, out)
            case .int32: selectLoop(Int32.self, c, av, bv, out)
            case .int64: selectLoop(Int64.self, c, av, bv, out)
            }
        }
        return out
    }

    /// `x != 0` (NaN counts as true) per element of contiguous `x`, as bytes.
    static func nonzero(_ x: Tensor) -> [Bool] {
        func read<T: TensorElement>(_: T.Type) -> [Bool] {
            let p = x.pointer(T.self)
            return (0..<x.count).map { p[$0] != 0 }
        }
        return withExtendedLifetime(x) {
            switch x.dtype {
            case .float32: read(Float.self)
            case .float64: read(Double.self)
            case .int32: read(Int32.self)
            case .int64: read(Int64.self)
            }
        }
    }

    @inline(__always)
    private static func selectLoop<T: TensorElement>(_: T.Type, _ c: [Bool], _ a: Tensor, _ b: Tensor, _ o: Tensor) {
        let ap = SendablePointer(a.pointer(T.self))
        let bp = SendablePointer(b.pointer(T.self)), op = SendablePointer(o.pointer(T.self))
        c.withUnsafeBufferPointer { cb in
            let cp = SendablePointer(cb.baseAddress ?? UnsafePointer(bitPattern: 8)!)
            Parallel.forRanges(count: o.count, grain: 1 << 15) { r in
                let c = cp.pointer, a = ap.pointer, b = bp.pointer, o = op.pointer
                for i in r { o[i] = c[i] ? a[i] : b[i] }
            }
        }
    }

    /// Fills contiguous storage with one value.
    static func fill(_ t: Tensor, _ value: Double) {
        switch t.dtype {
        case .float32: fill(Float.self, t, value)
        case .float64: fill(Double.self, t, value)
        case .int32: fillInteger(Int32.self, t, value)
        case .int64: fillInteger(Int64.self, t, value)
        }
    }

    private static func fillInteger<T: TensorInteger>(_: T.Type, _ t: Tensor, _ value: Double) {
        let v: T = ElementConversion.integer(value, position: 0)
        t.pointer(T.self).update(repeating: v, count: t.count)
    }

    @inline(__always)
    private static func fill<T: KernelScalar>(_: T.Type, _ t: Tensor, _ value: Double) {
        let p = SendablePointer(t.pointer(T.self)), v = T(value)
        Parallel.forRanges(count: t.count, grain: 1 << 16) { r in
            p.pointer.advanced(by: r.lowerBound).update(repeating: v, count: r.count)
        }
    }
}

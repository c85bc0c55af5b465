/// Padding (`torch.nn.functional.pad`) and the per-axis gather it shares with ``Tensor/flipped(_:)``
/// and ``Tensor/rolled(_:axes:)``: every output index maps, axis by axis, to one input index (or
/// to the fill value), so the forward pass is a gather and the backward pass adds v back at the
/// mapped positions (reflected and replicated borders accumulate).

/// How ``Tensor/padded(_:mode:value:)`` fills the new border, as `F.pad`'s `mode` (and the
/// convolution's `padding_mode`).
public enum PaddingMode: String, Sendable, CaseIterable {
    /// A constant (`value`, 0 by default); negative pads crop.
    case constant
    /// The mirror image without repeating the edge: `[a b c d]` padded by 2 is `[c b a b c d c b]`.
    /// Each pad must be smaller than its dimension.
    case reflect
    /// The edge repeated: `[a b c d]` padded by 2 is `[a a a b c d d d]`.
    case replicate
    /// Wrapped around: `[a b c d]` padded by 2 is `[c d a b c d a b]`. Each pad must be at most its dimension.
    case circular

    /// Zero padding: ``constant`` with value 0 (the convolution's `padding_mode='zeros'`).
    public static var zeros: PaddingMode { .constant }
}

extension Tensor {
    /// Pads the trailing dimensions, as `torch.nn.functional.pad(x, pads, mode, value)`: `pads` holds
    /// (before, after) pairs starting from the last dimension — `[left, right]` pads the last one,
    /// `[left, right, top, bottom]` the last two, and so on for any number of trailing dimensions.
    ///
    /// Shapes: `[…, d_k, …, d_1] → […, d_k + p_k + q_k, …, d_1 + p_1 + q_1]` for pairs (p₁, q₁), …, (p_k, q_k).
    /// Works on every dtype; the gradient (floating-point tensors) adds v at each output position back
    /// to the input element it copies (reflected, replicated and wrapped borders accumulate; the
    /// constant border has no gradient).
    ///
    /// ```swift
    /// let x = Tensor([[1, 2, 3]])                         // [1, 3]
    /// x.padded([2, 1], mode: .reflect)                    // [[3, 2, 1, 2, 3, 2]]
    /// ```
    ///
    /// - Parameters:
    ///   - pads: an even number of sizes, at most `2 · rank`; negative sizes crop (constant mode only).
    ///   - mode: ``PaddingMode/constant`` (default), ``PaddingMode/reflect``, ``PaddingMode/replicate``
    ///     or ``PaddingMode/circular``.
    ///   - value: the constant fill.
    public func padded(_ pads: [Int], mode: PaddingMode = .constant, value: Double = 0) -> Tensor {
        precondition(pads.count % 2 == 0 && pads.count / 2 <= rank,
                     "Neural: pad needs (before, after) pairs for at most \(rank) trailing dimensions of shape \(shape), got \(pads)")
        var maps = [[Int]?](repeating: nil, count: rank)
        var outShape = shape
        for k in 0..<(pads.count / 2) {
            let d = rank - 1 - k, n = shape[d], before = pads[2 * k], after = pads[2 * k + 1]
            if before == 0 && after == 0 { continue }
            let m = n + before + after
            precondition(m >= 0, "Neural: pad \(pads) leaves dimension \(d) of shape \(shape) with negative size \(m)")
            if mode != .constant {
                precondition(before >= 0 && after >= 0, "Neural: \(mode) pad needs non-negative sizes, got \(pads)")
                switch mode {
                case .reflect:
                    precondition(before < n && after < n,
                                 "Neural: reflect pad \(pads) must be smaller than dimension \(d) of shape \(shape) (size \(n))")
                case .circular:
                    precondition(before <= n && after <= n,
                                 "Neural: circular pad \(pads) must be at most dimension \(d) of shape \(shape) (size \(n))")
                default:
                    precondition(n > 0, "Neural: replicate pad of dimension \(d) of size 0 (shape \(shape))")
                }
            }
            maps[d] = (0..<m).map { o in
                let i = o - before
                if i >= 0 && i < n { return i }
                switch mode {
                case .constant: return -1
                case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
                case .replicate: return i < 0 ? 0 : n - 1
                case .circular: return ((i % n) + n) % n
                }
            }
            outShape[d] = m
        }
        return AxisGather.apply(self, outShape: outShape, maps: maps, fill: value, op: "pad")
    }
}

/// out[o₀, …, o_{r−1}] = x[m₀(o₀), …, m_{r−1}(o_{r−1})], or `fill` where some m_d(o_d) = −1; axes
/// without a map keep their index. Backward: v added back at the mapped input positions.
enum AxisGather {
    /// The gather described by `maps` (nil: the identity), recorded for autodiff as `op`.
    static func apply(_ input: Tensor, outShape: [Int], maps: [[Int]?], fill: Double, op: String) -> Tensor {
        guard let first = maps.firstIndex(where: { $0 != nil }) else { return input }
        let x = input.detached().contiguous()
        let inShape = input.shape
        // Leading unmapped axes form `outer` independent blocks; the rest is the gathered tail.
        let plan = Plan(inShape: inShape, outShape: outShape, maps: Array(maps[first...]), outer: Shape.count(Array(inShape[..<first])))
        let out = Tensor(uninitialized: outShape, dtype: input.dtype)
        if out.count > 0 {
            withExtendedLifetime(x) {
                switch x.dtype {
                case .float32: plan.forward(x.pointer(Float.self), out.pointer(Float.self), fill: Float(fill))
                case .float64: plan.forward(x.pointer(Double.self), out.pointer(Double.self), fill: fill)
                case .int32: plan.forward(x.pointer(Int32.self), out.pointer(Int32.self), fill: Int32(fill))
                case .int64: plan.forward(x.pointer(Int64.self), out.pointer(Int64.self), fill: Int64(fill))
                }
            }
        }
        let dtype = input.dtype
        return Tensor.record(out, op: op, input: input) { v0 in
            let v = v0.contiguous()
            let dx = Tensor.zeros(inShape, dtype: dtype)
            if v.count == 0 || dx.count == 0 { return dx }
            withExtendedLifetime(v) {
                switch dtype {
                case .float32: plan.backward(v.pointer(Float.self), dx.pointer(Float.self))
                case .float64: plan.backward(v.pointer(Double.self), dx.pointer(Double.self))
                case .int32, .int64: dtype.floatOnly(op)
                }
            }
            return dx
        }
    }

    /// The index arithmetic of one gather over contiguous `[outer, tail…]` operands.
    struct Plan: Sendable {
        let outer: Int
        let inBlock: Int, outBlock: Int
        /// Tail axes but the last: output sizes, input strides and maps (identity filled in).
        let rowShape: [Int], rowStrides: [Int], rowMaps: [[Int]]
        /// The last axis: its map and, when it copies long runs, the runs (out start, in start or −1, length).
        let lastMap: [Int]
        let runs: [(Int, Int, Int)]?

        init(inShape: [Int], outShape: [Int], maps: [[Int]?], outer: Int) {
            let tailIn = Array(inShape.suffix(maps.count)), tailOut = Array(outShape.suffix(maps.count))
            let full = maps.enumerated().map { d, m in m ?? Array(0..<tailIn[d]) }
            let strides = Shape.contiguousStrides(tailIn)
            self.outer = outer
            inBlock = Shape.count(tailIn)
            outBlock = Shape.count(tailOut)
            rowShape = Array(tailOut.dropLast())
            rowStrides = Array(strides.dropLast())
            rowMaps = Array(full.dropLast())
            lastMap = full.last!
            var runs: [(Int, Int, Int)] = []
            for (o, i) in lastMap.enumerated() {
                if let last = runs.last, last.0 + last.2 == o,
                   (last.1 < 0 && i < 0) || (last.1 >= 0 && last.1 + last.2 == i) {
                    runs[runs.count - 1].2 += 1
                } else {
                    runs.append((o, i, 1))
                }
            }
            self.runs = runs.count * 4 <= lastMap.count ? runs : nil
        }

        /// Calls `body(row, inOffset)` for the tail rows `range` of one block (`inOffset` −1: fill row).
        @inline(__always)
        private func forEachRow(_ range: Range<Int>, _ body: (Int, Int) -> Void) {
            let r = rowShape.count
            var idx = [Int](repeating: 0, count: r)
            var rem = range.lowerBound
            for d in stride(from: r - 1, through: 0, by: -1) {
                idx[d] = rem % rowShape[d]
                rem /= rowShape[d]
            }
            for row in range {
                var off = 0
                for d in 0..<r {
                    let m = rowMaps[d][idx[d]]
                    if m < 0 { off = -1; break }
                    off += m * rowStrides[d]
                }
                body(row, off)
                var d = r - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < rowShape[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }

        func forward<T: TensorElement>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, fill: T) {
            let rows = Shape.count(rowShape), inner = lastMap.count
            let xp = SendablePointer(x), yp = SendablePointer(y)
            Parallel.forRanges(count: outer * rows, grain: Swift.max(1, 32768 / Swift.max(inner, 1))) { range in
                var start = range.lowerBound
                while start < range.upperBound {
                    let b = start / rows, lo = start - b * rows, hi = Swift.min(rows, lo + range.upperBound - start)
                    let xb = xp.pointer + b * inBlock, yb = yp.pointer + b * outBlock
                    forEachRow(lo..<hi) { row, off in
                        let dst = yb + row * inner
                        if off < 0 {
                            dst.update(repeating: fill, count: inner)
                        } else if let runs {
                            for (o, i, n) in runs {
                                if i < 0 { (dst + o).update(repeating: fill, count: n) } else { (dst + o).update(from: xb + off + i, count: n) }
                            }
                        } else {
                            let src = xb + off
                            lastMap.withUnsafeBufferPointer { map in
                                for j in 0..<inner {
                                    let m = map[j]
                                    dst[j] = m < 0 ? fill : src[m]
                                }
                            }
                        }
                    }
                    start += hi - lo
                }
            }
        }

        /// dx (zeroed) += v scattered back; blocks in parallel, each block's rows in order (same bits
        /// at any thread count).
        func backward<T: KernelScalar>(_ v: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>) {
            let rows = Shape.count(rowShape), inner = lastMap.count
            let vp = SendablePointer(v), dp = SendablePointer(dx)
            Parallel.forRanges(count: outer, grain: Swift.max(1, 32768 / Swift.max(outBlock, 1))) { blocks in
                for b in blocks {
                    let vb = vp.pointer + b * outBlock, db = dp.pointer + b * inBlock
                    forEachRow(0..<rows) { row, off in
                        if off < 0 { return }
                        let src = vb + row * inner, dst = db + off
                        lastMap.withUnsafeBufferPointer { map in
                            for j in 0..<inner {
                                let m = map[j]
                                if m >= 0 { dst[m] += src[j] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Shape arithmetic shared by tensors and kernels: element counts, strides, broadcasting (eq. 7.83).
enum Shape {
    @inline(__always) static func count(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= Swift.max(shape[d], 1)
        }
        return strides
    }

    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// `axis` in `0..<rank`, counting negative axes from the end.
    static func normalize(_ axis: Int, rank: Int, function: String = #function) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "Neural: axis \(axis) is out of range for a tensor of rank \(rank) (\(function))")
        return a
    }

    /// The NumPy broadcast of two shapes: align from the right; sizes must match or be 1.
    static func broadcast(_ a: [Int], _ b: [Int], op: String = "broadcast") -> [Int] {
        if a == b { return a }
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            precondition(da == db || da == 1 || db == 1,
                         "Neural: \(op): shapes \(a) and \(b) cannot be broadcast together (dimension \(i - r) is \(da) vs \(db))")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Strides that read a tensor of `shape`/`strides` as if broadcast to `target` (0 on broadcast dims).
    static func broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
        let lead = target.count - shape.count
        precondition(lead >= 0, "Neural: cannot broadcast shape \(shape) to \(target)")
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count {
            if shape[i] == target[lead + i] { out[lead + i] = shape[i] == 1 ? 0 : strides[i] }
            else {
                precondition(shape[i] == 1, "Neural: cannot broadcast shape \(shape) to \(target)")
                out[lead + i] = 0
            }
        }
        return out
    }

    /// Merges adjacent dimensions that every operand steps through uniformly, so kernels see the
    /// fewest, longest loops. Size-1 dimensions are dropped. Returns at least one dimension.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides = [[Int]](repeating: [], count: strides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = outShape.last,
               (0..<strides.count).allSatisfy({ outStrides[$0].last! == strides[$0][d] * shape[d] }) {
                outShape[outShape.count - 1] = last * shape[d]
                for k in 0..<strides.count { outStrides[k][outStrides[k].count - 1] = strides[k][d] }
            } else {
                outShape.append(shape[d])
                for k in 0..<strides.count { outStrides[k].append(strides[k][d]) }
            }
        }
        if outShape.isEmpty { return ([1], strides.map { _ in [0] }) }
        return (outShape, outStrides)
    }
}

/// Printing: shape, dtype and values, eliding the middle of long dimensions like NumPy.
extension Tensor: CustomStringConvertible {
    /// e.g. `Tensor([2, 3], float32)\n[[1, 2, 3],\n [4, 5, 6]]`.
    public var description: String {
        var header = "Tensor(\(shape), \(dtype)"
        if let op = node?.op { header += op == "leaf" ? ", requiresGrad" : ", grad_fn: \(op)" }
        header += ")"
        let text: (Int) -> String
        if dtype.isFloatingPoint {
            let values = scalars(as: Double.self)
            text = { Tensor.formatScalar(values[$0]) }
        } else {
            let values = scalars(as: Int64.self)
            text = { String(values[$0]) }
        }
        return header + "\n" + Tensor.format(text, shape: shape, strides: Shape.contiguousStrides(shape), offset: 0, depth: 0)
    }

    private static let edge = 3

    private static func formatScalar(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded() && Swift.abs(v) < 1e9 { return String(Int(v)) }
        let m = Swift.abs(v)
        if m >= 1e-4 && m < 1e6 {
            var s = String(format: "%.4f", v)
            while s.hasSuffix("0") { s.removeLast() }
            return s
        }
        return String(format: "%.4e", v)
    }

    private static func format(_ values: (Int) -> String, shape: [Int], strides: [Int], offset: Int, depth: Int) -> String {
        if shape.isEmpty { return values(offset) }
        let n = shape[depth]
        let indices: [Int?] = n > 2 * edge ? Array(0..<edge).map { $0 } + [nil] + Array((n - edge)..<n).map { $0 } : Array(0..<n).map { $0 }
        if depth == shape.count - 1 {
            let parts = indices.map { i in i.map { values(offset + $0 * strides[depth]) } ?? "…" }
            return "[" + parts.joined(separator: ", ") + "]"
        }
        let pad = String(repeating: " ", count: depth + 1)
        let sep = ",\n" + String(repeating: "\n", count: Swift.max(0, shape.count - depth - 2)) + pad
        let parts = indices.map { i in
            i.map { format(values, shape: shape, strides: strides, offset: offset + $0 * strides[depth], depth: depth + 1) } ?? "…"
        }
        return "[" + parts.joined(separator: sep) + "]"
    }
}

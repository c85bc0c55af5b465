/// The number of elements of a tensor of `shape` read from a file, or nil when no tensor can have
/// that shape: a negative dimension, or a size that overflows. Zero dimensions count as 1 in the
/// overflow check because strides are computed that way (`[0, 2⁴⁰, 2⁴⁰]` has no elements but
/// strides past `Int.max`), and the byte size `elements × itemSize` must fit in an `Int`.
///
/// File readers call it before allocating, then compare the byte size with the bytes present.
func checkedElementCount(_ shape: [Int], itemSize: Int) -> Int? {
    var count = 1, span = itemSize
    for d in shape {
        guard d >= 0 else { return nil }
        let (c, o1) = count.multipliedReportingOverflow(by: d)
        let (s, o2) = span.multipliedReportingOverflow(by: Swift.max(d, 1))
        guard !o1, !o2 else { return nil }
        count = c
        span = s
    }
    return count
}

/// `values` as `[a, b, c]` for an error message, cut after `limit` elements (`[a, b, …] (n values)`)
/// so that a hostile file cannot make a message as long as itself.
func brief<T>(_ values: [T], limit: Int = 8) -> String {
    guard values.count > limit else { return "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
    return "[" + values.prefix(limit).map { "\($0)" }.joined(separator: ", ") + ", …] (\(values.count) values)"
}

/// `text` for an error message: on one line, cut after `limit` characters.
func brief(_ text: some StringProtocol, limit: Int = 120) -> String {
    let line = text.prefix(limit).map { $0 == "\n" || $0 == "\r" ? " " : String($0) }.joined()
    return text.count > limit ? line + "…" : line
}

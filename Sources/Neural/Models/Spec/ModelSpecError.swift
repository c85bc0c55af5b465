/// An invalid model spec, or one that doesn't fit the data: a message, the spec, and the range of
/// the offending token, shown as a caret line under the quoted spec:
///
/// ```
/// model spec: conv2d needs a [C, H, W] input but the running shape is [784]
///   flatten conv2d(32,3) relu
///           ^^^^^^^^^^^^
///   hint: give the input shape a channel dimension, e.g. [1, 28, 28]
/// ```
public struct ModelSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one line.
    public let message: String
    /// The spec as given.
    package let spec: String
    /// The offending token's (or argument's) characters in the spec (offsets in `Character`s);
    /// nil for problems with no token (an empty spec, a bad input shape).
    public let range: Range<Int>?
    /// What is expected instead, if there is something useful to say.
    public let hint: String?

    /// An error about `range` of `spec`.
    package init(_ message: String, spec: String, range: Range<Int>?, hint: String? = nil) {
        self.message = message
        self.spec = spec
        self.range = range
        self.hint = hint
    }

    /// Names from other libraries mapped to ours, for "did you mean".
    static let synonyms: [String: String] = [
        "dense": "linear", "fc": "linear", "fullyconnected": "linear", "conv": "conv2d", "pool": "maxpool",
        "bn": "batchnorm", "ln": "layernorm", "gn": "groupnorm", "leaky": "leakyrelu", "sequential": "mlp",
    ]

    /// The offending token as written (empty when there is none).
    package var token: String {
        guard let range else { return "" }
        let chars = Array(spec)
        return String(chars[min(range.lowerBound, chars.count)..<min(range.upperBound, chars.count)])
    }

    /// The spec on one line (tabs and newlines shown as spaces) and the caret line under the token.
    package var pointer: (line: String, carets: String)? {
        guard let range else { return nil }
        let line = String(spec.map { $0.isWhitespace ? " " : $0 })
        let carets = String(repeating: " ", count: range.lowerBound) + String(repeating: "^", count: max(1, range.count))
        return (line, carets)
    }

    /// The message, the quoted spec with a caret line under the offending token, and the hint.
    public var description: String {
        var lines = ["model spec: " + message]
        if let pointer {
            lines.append("  " + pointer.line)
            lines.append("  " + pointer.carets)
        }
        if let hint { lines.append("  hint: " + hint) }
        return lines.joined(separator: "\n")
    }
}

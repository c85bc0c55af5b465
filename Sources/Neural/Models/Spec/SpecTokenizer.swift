/// One token as written: its name (lower-cased), its arguments and where they are in the text.
struct RawToken {
    /// One argument as written: `value` or `key=value`.
    struct Argument {
        /// The key (lower-cased) of a `key=value` argument; nil for a positional one.
        let key: String?
        /// The value as written.
        let value: String
        /// The argument's characters in the spec.
        let range: Range<Int>
    }
    /// The name, lower-cased.
    let name: String
    /// The name's characters in the spec.
    let nameRange: Range<Int>
    /// The arguments in order.
    let arguments: [Argument]
    /// The whole token's characters in the spec.
    let range: Range<Int>
}

/// Splits a spec into tokens, keeping character positions for error carets.
struct SpecTokenizer {
    let text: String
    let chars: [Character]
    var i = 0

    init(_ text: String) {
        self.text = text
        self.chars = Array(text)
    }

    static func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" }

    mutating func skipSpaces() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

    mutating func tokens() throws(ModelSpecError) -> [RawToken] {
        var out: [RawToken] = []
        skipSpaces()
        while i < chars.count {
            out.append(try token())
            guard i >= chars.count || chars[i].isWhitespace else {
                throw ModelSpecError("unexpected \"\(chars[i])\" after \(out.last!.name); separate layers with spaces", spec: text,
                                     range: i..<(i + 1), hint: "e.g. \"linear(64) relu linear(10)\"")
            }
            skipSpaces()
        }
        return out
    }

    mutating func token() throws(ModelSpecError) -> RawToken {
        let start = i
        while i < chars.count, SpecTokenizer.isNameCharacter(chars[i]) { i += 1 }
        guard i > start else {
            throw ModelSpecError("expected a layer name, found \"\(chars[i])\"", spec: text, range: i..<(i + 1),
                                 hint: "known layers: " + ModelSpec.usage)
        }
        let name = String(chars[start..<i]).lowercased()
        let nameRange = start..<i
        var arguments: [RawToken.Argument] = []
        if i < chars.count, chars[i] == "(" {
            let open = i
            i += 1
            skipSpaces()
            if i < chars.count, chars[i] == ")" {
                i += 1
            } else {
                while true {
                    skipSpaces()
                    let argStart = i
                    while i < chars.count, !",()".contains(chars[i]), !chars[i].isWhitespace { i += 1 }
                    let argEnd = i
                    let raw = String(chars[argStart..<argEnd])
                    skipSpaces()
                    guard i < chars.count else {
                        throw ModelSpecError("\"(\" after \(name) is never closed", spec: text, range: start..<chars.count,
                                             hint: "close the arguments with \")\"")
                    }
                    guard chars[i] == "," || chars[i] == ")" else {
                        throw ModelSpecError("unexpected \"\(chars[i])\" in the arguments of \(name)", spec: text, range: i..<(i + 1),
                                             hint: "separate arguments with commas, e.g. conv2d(32,3,stride=2)")
                    }
                    guard !raw.isEmpty else {
                        throw ModelSpecError("empty argument in \(name)(…)", spec: text, range: open..<(i + 1),
                                             hint: "separate arguments with single commas")
                    }
                    if let eq = raw.firstIndex(of: "=") {
                        let key = raw[..<eq].lowercased(), value = String(raw[raw.index(after: eq)...])
                        guard !key.isEmpty, !value.isEmpty else {
                            throw ModelSpecError("malformed argument \"\(raw)\" in \(name)(…)", spec: text, range: argStart..<argEnd,
                                                 hint: "write key=value, e.g. stride=2")
                        }
                        arguments.append(.init(key: key, value: value, range: argStart..<argEnd))
                    } else {
                        arguments.append(.init(key: nil, value: raw, range: argStart..<argEnd))
                    }
                    let c = chars[i]
                    i += 1
                    if c == ")" { break }
                }
            }
        }
        return RawToken(name: name, nameRange: nameRange, arguments: arguments, range: start..<i)
    }
}

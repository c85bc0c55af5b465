/// The parser's second half: finds a token's ``LayerKind`` by name (or suggests the nearest one)
/// and binds the token's arguments against the kind's parameters, checking each value's type.
enum SpecParser {
    /// The layer spec of `token`: its kind's token made from its bound arguments.
    static func interpret(_ token: RawToken, spec: String) throws(ModelSpecError) -> ModelSpec.LayerSpec {
        guard let kind = LayerRegistry.kind(named: token.name) else {
            let suggestion = ModelSpecError.synonyms[token.name] ?? closest(to: token.name, among: ModelSpec.tokenNames)
            throw ModelSpecError("unknown layer \"\(token.name)\"" + (suggestion.map { "; did you mean \($0)?" } ?? ""), spec: spec,
                                 range: token.nameRange, hint: "known layers: " + ModelSpec.usage)
        }
        let arguments = try bind(token, to: kind, spec: spec)
        return ModelSpec.LayerSpec(try kind.make(arguments))
    }

    /// Binds `token`'s arguments to `kind`'s parameters (positional in order, or by key), checks
    /// counts and converts each value to its parameter's type.
    static func bind(_ token: RawToken, to kind: LayerKind, spec: String) throws(ModelSpecError) -> BoundArguments {
        let name = token.name, form = kind.form(name)
        func fail(_ message: String, at range: Range<Int>? = nil, hint: String? = nil) -> ModelSpecError {
            ModelSpecError(message, spec: spec, range: range ?? token.range, hint: hint)
        }
        if let repeated = kind.repeated {
            if let keyed = token.arguments.first(where: { $0.key != nil }) {
                throw fail("\(name) takes \(repeated.meaning)s only, got \"\(keyed.key!)=\"", at: keyed.range, hint: "expected \(form)")
            }
            guard !token.arguments.isEmpty else {
                throw fail("\(name) needs at least one \(repeated.meaning)", hint: "expected \(form)")
            }
            var values: [Int] = []
            for argument in token.arguments {
                values.append(try integer(argument, repeated, minimum: 1, token: name, spec: spec))
            }
            return BoundArguments(name: name, spec: spec, range: token.range, values: [:], repeated: values)
        }

        let parameters = kind.parameters
        let names = parameters.map(\.name)
        var bound: [String: RawToken.Argument] = [:]
        var position = 0
        for argument in token.arguments {
            if let key = argument.key {
                guard names.contains(key) else {
                    let suggestion = closest(to: key, among: names).map { "; did you mean \($0)?" } ?? ""
                    throw fail("\(name) has no argument named \"\(key)\"\(suggestion)", at: argument.range,
                               hint: names.isEmpty ? "\(name) takes no arguments" : "expected \(form)")
                }
                guard bound[key] == nil else {
                    throw fail("\(name): argument \"\(key)\" is given twice", at: argument.range, hint: "expected \(form)")
                }
                bound[key] = argument
            } else {
                guard position < names.count else {
                    let count = names.isEmpty ? "no arguments" : names.count == 1 ? "1 argument" : "at most \(names.count) arguments"
                    throw fail("\(name) takes \(count), got \(token.arguments.count)", hint: "expected \(form)")
                }
                bound[names[position]] = argument
                position += 1
            }
        }
        for p in parameters where p.isRequired && bound[p.name] == nil {
            throw fail("\(name) is missing its \(p.name) argument", hint: "expected \(form)")
        }
        var values: [String: (value: SpecValue, range: Range<Int>)] = [:]
        for p in parameters {
            guard let argument = bound[p.name] else { continue }
            values[p.name] = (try convert(argument, to: p, token: name, spec: spec), argument.range)
        }
        return BoundArguments(name: name, spec: spec, range: token.range, values: values, repeated: [])
    }

    /// `argument`'s value as `parameter`'s type; throws, pointing at the argument, when it isn't one.
    static func convert(_ argument: RawToken.Argument, to parameter: SpecParameter, token name: String,
                        spec: String) throws(ModelSpecError) -> SpecValue {
        switch parameter.type {
        case .integer(let minimum):
            return .integer(try integer(argument, parameter, minimum: minimum, token: name, spec: spec))
        case .integerOrSame:
            if argument.value.lowercased() == "same" { return .same }
            return .integer(try integer(argument, parameter, minimum: 0, token: name, spec: spec))
        case .number(let range, let positive):
            let text = argument.value
            func fail(_ what: String) -> ModelSpecError {
                ModelSpecError("\(name): the \(parameter.meaning) must be \(what)", spec: spec, range: argument.range)
            }
            guard let v = Double(text), v.isFinite else { throw fail("a number, got \"\(text)\"") }
            if let range, !range.contains(v) {
                throw fail("in [\(ModelSpec.format(range.lowerBound)), \(ModelSpec.format(range.upperBound))], got \(text)")
            }
            if positive && v <= 0 { throw fail("positive, got \(text)") }
            return .number(v)
        case .word(let words):
            let text = argument.value.lowercased()
            guard words.contains(text) else {
                let suggestion = closest(to: text, among: words).map { "; did you mean \($0)?" } ?? ""
                throw ModelSpecError("\(name): the \(parameter.meaning) must be one of \(words.joined(separator: ", ")), got \"\(argument.value)\"\(suggestion)",
                                     spec: spec, range: argument.range)
            }
            return .word(text)
        }
    }

    /// `argument`'s value as an integer ≥ `minimum`; throws, pointing at the argument, otherwise.
    static func integer(_ argument: RawToken.Argument, _ parameter: SpecParameter, minimum: Int, token name: String,
                        spec: String) throws(ModelSpecError) -> Int {
        let text = argument.value
        func fail(_ what: String) -> ModelSpecError {
            ModelSpecError("\(name): the \(parameter.meaning) must be \(what)", spec: spec, range: argument.range)
        }
        guard let v = Int(text) else {
            throw fail("\(Double(text) != nil ? "a whole number" : "an integer"), got \"\(text)\"")
        }
        guard v >= minimum else {
            let bound = minimum == 1 ? "positive" : minimum == 0 ? "non-negative" : "at least \(minimum)"
            throw fail("\(bound), got \(v)\(v < 0 ? " (a negative size)" : "")")
        }
        return v
    }

    /// Levenshtein distance between `a` and `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The candidate nearest to `word` by edit distance, if near enough to be a likely typo
    /// (at most 2 edits, or a third of the word's length); the first of equally near ones.
    static func closest(to word: String, among candidates: [String]) -> String? {
        var best: (String, Int)? = nil
        for c in candidates {
            let d = editDistance(word, c)
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best, d <= max(2, word.count / 3) else { return nil }
        return c
    }
}

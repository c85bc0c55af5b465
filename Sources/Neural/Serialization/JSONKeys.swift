import Foundation

/// Finds duplicate keys in JSON objects, which `JSONDecoder` accepts silently (keeping one of the
/// values): in a safetensors header a repeated tensor name or field would make the file mean two
/// things, so readers reject it.
enum JSONKeys {
    /// The first key that appears twice in one object of the valid JSON `bytes`, with where that
    /// object is: `"header"` for the top level, `"tensor 'name'"` or `"__metadata__"` for an
    /// object under a top-level key, deeper ones as `"tensor 'name'.key"`. Nil when keys are unique.
    ///
    /// Keys are compared after unescaping, as `String`s (canonically equivalent spellings count as
    /// one key, as they would in a `[String: …]` dictionary). Iterative, so deep nesting cannot
    /// exhaust the stack; linear in the input apart from hashing the keys.
    static func firstDuplicate(in bytes: Data) -> (field: String, key: String)? {
        let b = [UInt8](bytes)
        struct Level { var isObject: Bool; var keys: Set<String>; var name: String?; var expectingKey: Bool }
        var stack: [Level] = []
        var lastKey: String?   // the key whose value comes next, in the innermost object
        var i = 0
        func field(_ depth: Int) -> String {
            let names = stack[1..<depth].map { $0.name ?? "[]" }
            guard let first = names.first else { return "header" }
            let head = first == "__metadata__" ? first : "tensor '\(first)'"
            return ([head] + names.dropFirst()).joined(separator: ".")
        }
        while i < b.count {
            let c = b[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                stack.append(Level(isObject: c == UInt8(ascii: "{"), keys: [], name: lastKey, expectingKey: c == UInt8(ascii: "{")))
                lastKey = nil
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !stack.isEmpty { stack.removeLast() }
                i += 1
            case UInt8(ascii: ","):
                if let top = stack.indices.last, stack[top].isObject { stack[top].expectingKey = true }
                lastKey = nil
                i += 1
            case UInt8(ascii: "\""):
                var j = i + 1, escaped = false
                while j < b.count {
                    if b[j] == UInt8(ascii: "\\") { escaped = true; j += 2; continue }
                    if b[j] == UInt8(ascii: "\"") { break }
                    j += 1
                }
                let end = Swift.min(j, b.count)
                if let top = stack.indices.last, stack[top].isObject, stack[top].expectingKey {
                    let key = escaped ? unescape(Data(b[i..<Swift.min(end + 1, b.count)]))
                                      : String(decoding: b[(i + 1)..<end], as: UTF8.self)
                    if !stack[top].keys.insert(key).inserted { return (field(stack.count), key) }
                    stack[top].expectingKey = false
                    lastKey = key
                }
                i = end + 1
            default:
                i += 1
            }
        }
        return nil
    }

    /// A JSON string literal (with its quotes) decoded, escapes and all.
    private static func unescape(_ literal: Data) -> String {
        (try? JSONDecoder().decode(String.self, from: literal)) ?? String(decoding: literal, as: UTF8.self)
    }
}

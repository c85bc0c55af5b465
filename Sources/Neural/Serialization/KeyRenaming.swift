import Foundation

/// One rule of a checkpoint key renaming: a regular expression (NSRegularExpression syntax) and
/// what each match becomes, or ``drop(_:)`` to leave out every key it matches.
///
/// Rules run in order on each key, each rewriting every match in the key as it stands after the
/// rules before it; a key that a drop rule matches is removed and later rules do not see it.
/// Templates refer to groups as `$1`, `$2`, … (`$0` is the whole match).
///
/// ```swift
/// let rules: [KeyRenaming] = [
///     KeyRenaming("^bert\\.", ""),                       // "bert.encoder.…" → "encoder.…"
///     KeyRenaming("LayerNorm\\.gamma$", "LayerNorm.weight"),
///     .drop("^embeddings\\.position_ids$"),              // a buffer older checkpoints carry
/// ]
/// try model.load(safetensors: url, renaming: rules)
/// ```
public struct KeyRenaming: Sendable, Equatable, CustomStringConvertible {
    /// The regular expression matched anywhere in a key (anchor it with `^` and `$`).
    public let pattern: String
    /// The replacement template (`$1` for group 1), or nil: drop the key.
    public let replacement: String?

    /// Replace every match of `pattern` in a key by `replacement` (`$1`… name groups).
    ///
    /// - Precondition: `pattern` is a valid regular expression.
    public init(_ pattern: String, _ replacement: String) {
        self.init(pattern: pattern, replacement: replacement)
    }

    /// Leave out every key that `pattern` matches.
    public static func drop(_ pattern: String) -> KeyRenaming { KeyRenaming(pattern: pattern, replacement: nil) }

    private init(pattern: String, replacement: String?) {
        precondition((try? NSRegularExpression(pattern: pattern)) != nil,
                     "Neural: KeyRenaming pattern \"\(pattern)\" is not a valid regular expression")
        self.pattern = pattern
        self.replacement = replacement
    }

    /// `pattern → replacement` or `drop pattern`.
    public var description: String { replacement.map { "\(pattern) → \($0)" } ?? "drop \(pattern)" }

    /// The renaming function of `rules` applied in order (nil: dropped).
    static func function(_ rules: [KeyRenaming]) -> (String) -> String? {
        let compiled = rules.map { (try! NSRegularExpression(pattern: $0.pattern), $0.replacement) }
        return { key in
            var name = key
            for (regex, template) in compiled {
                let range = NSRange(name.startIndex..., in: name)
                guard let template else {
                    if regex.firstMatch(in: name, range: range) != nil { return nil }
                    continue
                }
                name = regex.stringByReplacingMatches(in: name, range: range, withTemplate: template)
            }
            return name
        }
    }
}

extension Checkpoint {
    /// The same checkpoint with each tensor's key replaced by `rename(key)`, or left out where
    /// that is nil (a checkpoint from another library whose module names differ from this one's).
    ///
    /// - Throws: ``CheckpointError`` (`.stateMismatch`) listing every name that two or more keys
    ///   would get, with those keys.
    public func renamingKeys(_ rename: (String) -> String?) throws(CheckpointError) -> Checkpoint {
        var renamed: [String: Tensor] = [:], from: [String: [String]] = [:]
        for key in tensors.keys.sorted() {
            guard let name = rename(key) else { continue }
            from[name, default: []].append(key)
            renamed[name] = tensors[key]
        }
        let clashes = from.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        if !clashes.isEmpty {
            throw CheckpointError(.stateMismatch, file: source?.path,
                                  "the renaming gives several keys the same name: "
                                  + clashes.map { "\($0.key) ← \($0.value.joined(separator: ", "))" }.joined(separator: "; ")
                                  + "; make the renaming rules tell them apart")
        }
        var out = self
        out.tensors = renamed
        return out
    }

    /// The same checkpoint with its keys renamed by `rules` (see ``KeyRenaming``).
    ///
    /// - Throws: ``CheckpointError`` (`.stateMismatch`) when two keys get the same name.
    public func renamingKeys(_ rules: [KeyRenaming]) throws(CheckpointError) -> Checkpoint {
        try renamingKeys(KeyRenaming.function(rules))
    }
}

extension Module {
    /// Loads the safetensors file at `url` (written by PyTorch, Hugging Face or Neural) into this
    /// module's parameters and buffers, after renaming its keys with `rules`: the general way to
    /// load a checkpoint whose names differ from the module's (``Module/namedParameters()``).
    ///
    /// Strict (the default) means every parameter and buffer of the module gets a tensor and every
    /// tensor left after renaming names one; either way every tensor must have its target's shape
    /// (its dtype is converted). All missing, unexpected and mis-shaped keys are listed in one
    /// error, and nothing is changed when it throws.
    ///
    /// - Returns: the loaded, missing and unexpected keys (after renaming).
    /// - Throws: ``CheckpointError``: the file's errors (see ``SafeTensors/read(from:)``) and
    ///   `.stateMismatch` (see ``Checkpoint/apply(to:strict:)``; also when two keys get the same name).
    @discardableResult
    public func load(safetensors url: URL, renaming rules: [KeyRenaming] = [], strict: Bool = true) throws(CheckpointError) -> Checkpoint.ApplyReport {
        try load(safetensors: url, strict: strict, renaming: KeyRenaming.function(rules))
    }

    /// ``load(safetensors:renaming:strict:)`` with the renaming as a function: `rename(key)` is the
    /// module's name for the file's tensor `key`, or nil to leave that tensor out.
    @discardableResult
    public func load(safetensors url: URL, strict: Bool = true, renaming rename: (String) -> String?) throws(CheckpointError) -> Checkpoint.ApplyReport {
        let checkpoint = try Checkpoint.load(from: url, resumeState: false).renamingKeys(rename)
        return try checkpoint.apply(to: self, strict: strict)
    }
}

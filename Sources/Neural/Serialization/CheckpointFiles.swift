import Foundation

extension Checkpoint {
    // MARK: Saving

    /// Builds a ``Checkpoint`` (see ``init(model:optimizer:generator:sampler:modelSpec:config:epoch:metadata:)``)
    /// and writes it to `url` (and its resume state beside it) with ``write(to:)``.
    ///
    /// - Throws: ``CheckpointError`` (`.io` when a file cannot be written; the previous checkpoint, if any, is then intact).
    public static func save(model: Module, optimizer: Optimizer? = nil, generator: RandomGenerator? = nil,
                            sampler: ShuffledBatchSampler? = nil, modelSpec: String? = nil, config: String? = nil,
                            epoch: Int? = nil, metadata: [String: String] = [:], to url: URL) throws(CheckpointError) {
        try Checkpoint(model: model, optimizer: optimizer, generator: generator, sampler: sampler,
                       modelSpec: modelSpec, config: config, epoch: epoch, metadata: metadata).write(to: url)
    }

    /// Writes the weights to `url` and, when there is resume state (optimizer, generators, sampler
    /// or trainer state), that state to a new file beside it, `NAME.state-<id>.safetensors`:
    /// the state file first, then the weights file naming it (the commit point), each atomically
    /// (temporary file, fsync, rename, directory fsync). Then the state files of `url`'s name that
    /// no weights file in the directory names any more (earlier saves' and those of interrupted
    /// ones; a copy such as `best.safetensors` keeps its state file) and the temporaries of
    /// interrupted writes are deleted. A crash at any moment leaves the previous pair or the new
    /// one, never a torn one.
    ///
    /// - Throws: ``CheckpointError``: `.io` when a file cannot be written (when that happens before
    ///   the weights file is renamed into place, the previous checkpoint is intact and the new state
    ///   file is removed), `.invalidTensor` when a model tensor uses the reserved `__optimizer__.` prefix.
    public func write(to url: URL) throws(CheckpointError) {
        let files = CheckpointFiles(weights: url)
        var weights = try weightsFile(file: url.path)
        var kept: String?
        if hasResumeState {
            let id = CheckpointFiles.newID()
            let stateURL = files.stateURL(id: id)
            let state = try resumeStateFile(id: id).encoded(file: stateURL.path)
            weights.metadata[MetadataKey.stateFile] = stateURL.lastPathComponent
            weights.metadata[MetadataKey.stateID] = id
            let data = try weights.encoded(file: url.path)
            try AtomicFile.write(state, to: stateURL)
            do {
                try AtomicFile.write(data, to: url)
            } catch {
                if CheckpointFiles.stateFileNamed(by: url) != stateURL.lastPathComponent {
                    try? FileManager.default.removeItem(at: stateURL)
                }
                throw error
            }
            kept = stateURL.lastPathComponent
        } else {
            try AtomicFile.write(try weights.encoded(file: url.path), to: url)
        }
        files.removeStale(keeping: kept)
    }

    /// The weights file's contents: the model's tensors and the metadata (spec, configuration,
    /// epoch, preprocessing, the caller's entries), without resume state.
    ///
    /// - Throws: ``CheckpointError`` (`.invalidTensor`) when a model tensor uses the reserved
    ///   `__optimizer__.` prefix.
    package func weightsFile(file: String? = nil) throws(CheckpointError) -> SafeTensors {
        for name in tensors.keys.sorted() where name.hasPrefix(Checkpoint.optimizerPrefix) {
            throw CheckpointError(.invalidTensor, file: file, field: "tensor '\(name)'",
                                  "the prefix \(Checkpoint.optimizerPrefix) is reserved for optimizer state; rename the tensor")
        }
        var meta = metadata
        meta[MetadataKey.format] = "2"
        if let modelSpec { meta[MetadataKey.model] = modelSpec }
        if let config { meta[MetadataKey.config] = config }
        if let epoch { meta[MetadataKey.epoch] = String(epoch) }
        return SafeTensors(tensors: tensors.mapValues { $0.detached() }, metadata: meta)
    }

    // MARK: Loading

    /// Reads the checkpoint whose weights file is `url` (any safetensors file: one written by
    /// PyTorch loads too, without resume state).
    ///
    /// - Parameters:
    ///   - url: the weights file (`….safetensors`).
    ///   - resumeState: read the resume state too (default): from the state file the
    ///     weights file names, checking that it belongs to the same save, or from the weights file
    ///     itself for a single-file checkpoint of an earlier version. `false`: the weights and
    ///     metadata alone (for inference; the state file is not needed).
    /// - Throws: ``CheckpointError``: the files' errors (see ``SafeTensors/read(from:)``),
    ///   `.malformedMetadata` for a `neural.*` entry or `__optimizer__.` tensor that does not
    ///   parse, `.tornPair` when the state file is missing, unreadable or from another save.
    public static func load(from url: URL, resumeState: Bool = true) throws(CheckpointError) -> Checkpoint {
        let file = try SafeTensors.read(from: url)
        let stateName = file.metadata[MetadataKey.stateFile]
        var c = try Checkpoint(weights: file, path: url.path, inFileResumeState: resumeState && stateName == nil)
        c.source = url
        c.stateSource = url
        if resumeState, let stateName {
            let files = CheckpointFiles(weights: url.resolvingSymlinksInPath())
            let (state, stateURL) = try files.readState(named: stateName, id: file.metadata[MetadataKey.stateID])
            try c.readResumeState(state, path: stateURL.path)
            c.stateSource = stateURL
        }
        return c
    }

    /// Interprets one safetensors file's contents as a checkpoint: the model's tensors, the
    /// metadata and any resume state inside the file (a single-file checkpoint of an earlier
    /// version, or a state file's contents); a state file the weights name is not read (use
    /// ``load(from:resumeState:)``). `file` is named in errors.
    ///
    /// - Throws: ``CheckpointError`` (`.malformedMetadata`).
    public init(_ file: SafeTensors, file path: String? = nil) throws(CheckpointError) {
        try self.init(weights: file, path: path, inFileResumeState: true)
    }

    /// The model's tensors and metadata of `file`; with `inFileResumeState`, also the resume
    /// state inside it (otherwise its `__optimizer__.` tensors and resume entries are set aside).
    init(weights file: SafeTensors, path: String?, inFileResumeState: Bool) throws(CheckpointError) {
        self.init(tensors: file.tensors.filter { !$0.key.hasPrefix(Checkpoint.optimizerPrefix) })
        var meta = file.metadata
        modelSpec = meta.removeValue(forKey: MetadataKey.model)
        config = meta.removeValue(forKey: MetadataKey.config)
        for key in [MetadataKey.format, MetadataKey.stateFile, MetadataKey.stateID] { meta.removeValue(forKey: key) }
        if let e = meta.removeValue(forKey: MetadataKey.epoch) {
            guard let v = Int(e), v >= 0 else {
                throw CheckpointError(.malformedMetadata, file: path, field: "__metadata__ \"\(MetadataKey.epoch)\"",
                                      "\"\(e)\" is not a non-negative integer; re-save the checkpoint with Neural or remove the entry")
            }
            epoch = v
        }
        metadata = meta.filter { !Checkpoint.isResumeStateKey($0.key) }
        if inFileResumeState { try readResumeState(file, path: path) }
    }
}

/// The files of one checkpoint: the weights file and the resume-state files beside it
/// (`ck.safetensors`, `ck.state-<id>.safetensors`), and the temporaries of interrupted writes.
struct CheckpointFiles {
    /// The weights file.
    let weights: URL

    /// The directory holding both files.
    var directory: URL { weights.deletingLastPathComponent() }

    /// The weights file's name without `.safetensors` (`ck` for `ck.safetensors`).
    var stem: String {
        let name = weights.lastPathComponent
        return name.hasSuffix(".safetensors") ? String(name.dropLast(".safetensors".count)) : name
    }

    /// Where the state file of save `id` goes.
    func stateURL(id: String) -> URL {
        directory.appendingPathComponent("\(stem).state-\(id).safetensors")
    }

    /// A new save id: 16 hexadecimal digits from the system's random source (not from any
    /// ``RandomGenerator``, so saving draws nothing from a training run's generators).
    static func newID() -> String {
        let hex = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Whether `name` is a state file of this checkpoint (`STEM.state-<16 hex digits>.safetensors`).
    func isStateFile(_ name: String) -> Bool {
        let prefix = stem + ".state-", suffix = ".safetensors"
        guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count == prefix.count + 16 + suffix.count else { return false }
        return name.dropFirst(prefix.count).dropLast(suffix.count).allSatisfy(\.isHexDigit)
    }

    /// Whether `name` is a temporary file of an interrupted atomic write of the weights file or of
    /// one of its state files (`.NAME.tmp-PID-RANDOM`, see ``AtomicFile/write(_:to:)``).
    func isTemporary(_ name: String) -> Bool {
        guard name.hasPrefix("."), let range = name.range(of: ".tmp-") else { return false }
        let target = String(name[name.index(after: name.startIndex)..<range.lowerBound])
        return target == weights.lastPathComponent || isStateFile(target)
    }

    /// Deletes the state files of this checkpoint's name other than `kept` that no weights file in
    /// the directory names (so a copy of the weights file, e.g. `best.safetensors`, keeps its pair,
    /// and `ck` and `ck.safetensors`, which share the name, keep theirs), and the temporaries of
    /// interrupted writes. Best effort: a file that cannot be deleted is left for the next save.
    func removeStale(keeping kept: String?) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        let stale = names.filter { $0 != kept && isStateFile($0) }
        let named = stale.isEmpty ? [] : Set(names.filter { ($0.hasSuffix(".safetensors") || $0 == stem) && !isStateFile($0) }
            .compactMap { CheckpointFiles.stateFileNamed(by: directory.appendingPathComponent($0)) })
        for name in stale where !named.contains(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        for name in names where isTemporary(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }

    /// The state file the safetensors file at `url` names (`neural.state.file`), read from its
    /// header alone; nil when it names none or is not a safetensors file.
    static func stateFileNamed(by url: URL) -> String? {
        SafeTensors.metadata(of: url)?[Checkpoint.MetadataKey.stateFile]
    }

    /// The state file `name` (from the weights file's `neural.state.file`) with its URL, checked to
    /// belong to save `id`.
    ///
    /// - Throws: ``CheckpointError``: `.malformedMetadata` when `name` is not a plain file name or
    ///   `id` is missing, `.tornPair` (naming both files) when the state file is missing,
    ///   unreadable or carries another save's id.
    func readState(named name: String, id: String?) throws(CheckpointError) -> (SafeTensors, URL) {
        let weightsPath = weights.path
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw CheckpointError(.malformedMetadata, file: weightsPath, field: "__metadata__ \"\(Checkpoint.MetadataKey.stateFile)\"",
                                  "\"\(name)\" is not the name of a file beside the weights file; re-save the checkpoint with Neural or remove the entry")
        }
        guard let id, !id.isEmpty else {
            throw CheckpointError(.malformedMetadata, file: weightsPath, field: "__metadata__ \"\(Checkpoint.MetadataKey.stateID)\"",
                                  "is missing, so the state file \(name) cannot be checked; re-save the checkpoint with Neural")
        }
        let url = directory.appendingPathComponent(name)
        let fix = "copy the weights file and its state file together, or load the weights alone (Checkpoint.load(from:resumeState: false), as neural predict and evaluate do) and start a new run from them"
        func torn(_ what: String) -> CheckpointError {
            CheckpointError(.tornPair, file: weightsPath, field: "resume state \(url.path)", "\(what); \(fix)")
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw torn("is missing: the pair is torn (the state file was deleted or moved, or the weights file was copied without it)")
        }
        let state: SafeTensors
        do {
            state = try SafeTensors.read(from: url)
        } catch {
            throw torn("cannot be read (\(error.message)): the pair is torn")
        }
        let found = state.metadata[Checkpoint.MetadataKey.stateID]
        guard found == id else {
            throw torn("belongs to another save (its id is \(found.map { "\"\($0)\"" } ?? "missing"), the weights file's is \"\(id)\"): the pair is torn")
        }
        return (state, url)
    }
}

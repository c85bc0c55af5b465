import Foundation

/// A training checkpoint in one safetensors file: the model's weights under PyTorch's `state_dict`
/// names and layouts (so `safetensors.torch.load_file` + `load_state_dict(strict=True)` loads them
/// into the equivalent `torch.nn.Sequential`), plus everything needed to resume a run exactly.
///
/// File layout:
/// - tensors: the model's ``Module/stateDict()`` (`0.weight`, `1.running_mean`, …; BatchNorm's
///   `num_batches_tracked` as I64), and each optimizer state tensor under
///   `__optimizer__.<parameter index>.<state name>` (e.g. Adam's m and v of parameter 0 are
///   `__optimizer__.0.exp_avg` and `__optimizer__.0.exp_avg_sq`);
/// - `__metadata__`: `neural.model` (the model spec string), `neural.config` (training
///   configuration, JSON), `neural.epoch`, `neural.optimizer` (JSON: `type`, `step` and
///   `parameters`, one `{"step", "tensors"}` per parameter: its update count and the names of its
///   state tensors), `neural.generator` (the
///   ``RandomGenerator/stateWords`` as four comma-separated hex words; other named generators
///   under `neural.generator.<name>`), `neural.sampler` (JSON: `epoch`, `position`,
///   `permutation`), `neural.training` (the ``TrainingState`` as JSON: epoch, batch within the
///   epoch, step, loss accumulators as bit patterns, early-stopping state, history),
///   `neural.format` (`1`), and any caller entries in ``metadata``.
///
/// Saving and resuming:
///
/// ```swift
/// try Checkpoint.save(model: model, optimizer: opt, generator: g, sampler: sampler,
///                     modelSpec: "mlp(512,512)", config: configJSON, epoch: 3, to: url)
///
/// let ckpt = try Checkpoint.load(from: url)
/// try ckpt.apply(to: model)             // strict: same keys and shapes, or a CheckpointError
/// try ckpt.restore(optimizer: opt)      // same optimizer type over model.parameters
/// try ckpt.restore(generator: g)
/// try ckpt.restore(sampler: &sampler)   // after restoring the generator it draws from
/// ```
///
/// A checkpoint written by PyTorch carries only tensors: ``apply(to:strict:)`` works; the resume
/// state is absent (``optimizerState`` etc. are `nil`).
public struct Checkpoint: Sendable {
    /// Prefix of the optimizer's state tensors in the file; never part of the model's state.
    public static let optimizerPrefix = "__optimizer__."

    /// Metadata keys this type reads and writes.
    public enum MetadataKey {
        /// The model spec string.
        public static let model = "neural.model"
        /// The training configuration, JSON.
        public static let config = "neural.config"
        /// The number of completed epochs.
        public static let epoch = "neural.epoch"
        /// The optimizer's type, step counts and state tensor names, JSON.
        public static let optimizer = "neural.optimizer"
        /// The default random generator's state words (`neural.generator.<name>` for named ones).
        public static let generator = "neural.generator"
        /// The shuffled batch sampler's state, JSON.
        public static let sampler = "neural.sampler"
        /// The checkpoint layout version (`1`).
        public static let format = "neural.format"
        /// The trainer's ``TrainingState``, JSON.
        public static let training = "neural.training"
    }

    /// The model's state by `state_dict` name (parameters and buffers).
    public var tensors: [String: Tensor]
    /// The model spec string (`neural.model`), if saved.
    public var modelSpec: String?
    /// The training configuration as JSON text (`neural.config`), if saved.
    public var config: String?
    /// Completed epochs (`neural.epoch`), if saved.
    public var epoch: Int?
    /// The optimizer's class name when saved (e.g. `Adam`), checked by ``restore(optimizer:)``.
    public var optimizerType: String?
    /// The optimizer's step counts and state tensors, if saved.
    public var optimizerState: OptimizerState?
    /// Random generators' ``RandomGenerator/stateWords`` by name (`"default"` for the one passed
    /// as `generator:`).
    public var generatorStates: [String: [UInt64]]
    /// The batch sampler's position, if saved.
    public var samplerState: ShuffledBatchSampler.State?
    /// Where the trainer was (epoch, batch within it, accumulators, early stopping, history), if saved.
    public var trainingState: TrainingState?
    /// Other `__metadata__` entries (the `neural.*` keys are parsed into the properties above).
    public var metadata: [String: String]
    /// The file this checkpoint was loaded from (named in errors), if any.
    public var source: URL?

    /// A checkpoint of `model`'s current state and, optionally, the state needed to resume.
    ///
    /// - Parameters:
    ///   - model: its ``Module/stateDict()`` becomes the tensors.
    ///   - optimizer: its ``Optimizer/state`` and class name.
    ///   - generator: its ``RandomGenerator/stateWords``, stored as generator `"default"`.
    ///   - sampler: its ``ShuffledBatchSampler/state``.
    ///   - modelSpec: the model spec string (`neural.model`).
    ///   - config: the training configuration as JSON text (`neural.config`).
    ///   - epoch: completed epochs (`neural.epoch`).
    ///   - metadata: extra `__metadata__` entries (keys starting with `neural.` are reserved).
    public init(model: Module, optimizer: Optimizer? = nil, generator: RandomGenerator? = nil,
                sampler: ShuffledBatchSampler? = nil, modelSpec: String? = nil, config: String? = nil,
                epoch: Int? = nil, metadata: [String: String] = [:]) {
        var tensors: [String: Tensor] = [:]
        for (name, t) in model.stateDict() { tensors[name] = t.detached() }
        self.tensors = tensors
        self.modelSpec = modelSpec
        self.config = config
        self.epoch = epoch
        self.optimizerType = optimizer.map { String(describing: type(of: $0)) }
        self.optimizerState = optimizer?.state
        self.generatorStates = generator.map { ["default": $0.stateWords] } ?? [:]
        self.samplerState = sampler?.state
        self.trainingState = nil
        self.metadata = metadata
        self.source = nil
    }

    /// A checkpoint holding just `tensors` (e.g. to write weights from elsewhere).
    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.modelSpec = nil
        self.config = nil
        self.epoch = nil
        self.optimizerType = nil
        self.optimizerState = nil
        self.generatorStates = [:]
        self.samplerState = nil
        self.trainingState = nil
        self.metadata = metadata
        self.source = nil
    }

    // MARK: Saving

    /// Builds a ``Checkpoint`` (see ``init(model:optimizer:generator:sampler:modelSpec:config:epoch:metadata:)``)
    /// and writes it atomically to `url`.
    ///
    /// - Throws: ``CheckpointError`` (`.io` when the file cannot be written; the old file, if any, is then intact).
    public static func save(model: Module, optimizer: Optimizer? = nil, generator: RandomGenerator? = nil,
                            sampler: ShuffledBatchSampler? = nil, modelSpec: String? = nil, config: String? = nil,
                            epoch: Int? = nil, metadata: [String: String] = [:], to url: URL) throws(CheckpointError) {
        try Checkpoint(model: model, optimizer: optimizer, generator: generator, sampler: sampler,
                       modelSpec: modelSpec, config: config, epoch: epoch, metadata: metadata).write(to: url)
    }

    /// Writes the checkpoint atomically to `url` (temporary file, fsync, rename, directory fsync).
    ///
    /// - Throws: ``CheckpointError``.
    public func write(to url: URL) throws(CheckpointError) {
        try safeTensors(file: url.path).write(to: url)
    }

    /// The checkpoint as safetensors contents (model tensors, optimizer state tensors, metadata).
    ///
    /// - Throws: ``CheckpointError`` (`.invalidTensor`) when a model tensor uses the reserved
    ///   `__optimizer__.` prefix.
    public func safeTensors(file: String? = nil) throws(CheckpointError) -> SafeTensors {
        var all = tensors
        for name in tensors.keys where name.hasPrefix(Checkpoint.optimizerPrefix) {
            throw CheckpointError(.invalidTensor, file: file, field: "tensor '\(name)'",
                                  "the prefix \(Checkpoint.optimizerPrefix) is reserved for optimizer state; rename the tensor")
        }
        var meta = metadata
        meta[MetadataKey.format] = "1"
        if let modelSpec { meta[MetadataKey.model] = modelSpec }
        if let config { meta[MetadataKey.config] = config }
        if let epoch { meta[MetadataKey.epoch] = String(epoch) }
        if let state = optimizerState {
            for (i, p) in state.parameters.enumerated() {
                for (name, t) in p.tensors { all["\(Checkpoint.optimizerPrefix)\(i).\(name)"] = t.detached() }
            }
            let parameters = state.parameters.map { OptimizerInfo.Parameter(step: $0.step, tensors: $0.tensors.keys.sorted()) }
            let info = OptimizerInfo(type: optimizerType, step: state.step, parameters: parameters)
            meta[MetadataKey.optimizer] = Checkpoint.json(info)
        }
        for (name, words) in generatorStates {
            let key = name == "default" ? MetadataKey.generator : MetadataKey.generator + "." + name
            meta[key] = words.map { String($0, radix: 16) }.joined(separator: ",")
        }
        if let s = samplerState {
            meta[MetadataKey.sampler] = Checkpoint.json(SamplerInfo(epoch: s.epoch, position: s.position, permutation: s.permutation))
        }
        if let t = trainingState { meta[MetadataKey.training] = Checkpoint.json(t) }
        return SafeTensors(tensors: all, metadata: meta)
    }

    // MARK: Loading

    /// Reads the checkpoint at `url` (any safetensors file: one written by PyTorch loads too,
    /// without resume state).
    ///
    /// - Throws: ``CheckpointError``: the file's errors (see ``SafeTensors/read(from:)``) or
    ///   `.malformedMetadata` for a `neural.*` entry or `__optimizer__.` tensor that does not parse.
    public static func load(from url: URL) throws(CheckpointError) -> Checkpoint {
        var c = try Checkpoint(try SafeTensors.read(from: url), file: url.path)
        c.source = url
        return c
    }

    /// Interprets safetensors contents as a checkpoint; `file` is named in errors.
    ///
    /// - Throws: ``CheckpointError`` (`.malformedMetadata`).
    public init(_ file: SafeTensors, file path: String? = nil) throws(CheckpointError) {
        self.init(tensors: [:])
        func bad(_ key: String, _ why: String) -> CheckpointError {
            CheckpointError(.malformedMetadata, file: path, field: "__metadata__ \"\(key)\"",
                            "\(why); re-save the checkpoint with Neural or remove the entry")
        }
        var optimizerTensors: [String: Tensor] = [:]
        for (name, t) in file.tensors {
            if name.hasPrefix(Checkpoint.optimizerPrefix) { optimizerTensors[name] = t } else { tensors[name] = t }
        }
        var meta = file.metadata
        modelSpec = meta.removeValue(forKey: MetadataKey.model)
        config = meta.removeValue(forKey: MetadataKey.config)
        meta.removeValue(forKey: MetadataKey.format)
        if let e = meta.removeValue(forKey: MetadataKey.epoch) {
            guard let v = Int(e), v >= 0 else { throw bad(MetadataKey.epoch, "\"\(e)\" is not a non-negative integer") }
            epoch = v
        }
        if let text = meta.removeValue(forKey: MetadataKey.optimizer) {
            guard let info = Checkpoint.decodeJSON(OptimizerInfo.self, text), info.step >= 0,
                  info.parameters.allSatisfy({ $0.step >= 0 && !$0.tensors.contains("") && Set($0.tensors).count == $0.tensors.count }) else {
                throw bad(MetadataKey.optimizer, "is not {\"step\": n, \"parameters\": [{\"step\": n, \"tensors\": [names]}, ...]} with steps ≥ 0 and distinct, non-empty names")
            }
            var parameters: [ParameterState] = []
            for (i, p) in info.parameters.enumerated() {
                var tensors: [String: Tensor] = [:]
                for name in p.tensors {
                    let key = "\(Checkpoint.optimizerPrefix)\(i).\(name)"
                    guard let t = optimizerTensors.removeValue(forKey: key) else {
                        throw CheckpointError(.malformedMetadata, file: path, field: "tensor '\(key)'",
                                              "is listed in \(MetadataKey.optimizer) but missing from the file; re-save the checkpoint")
                    }
                    tensors[name] = t
                }
                parameters.append(ParameterState(step: p.step, tensors: tensors))
            }
            optimizerType = info.type
            optimizerState = OptimizerState(step: info.step, parameters: parameters)
        }
        if let name = optimizerTensors.keys.sorted().first {
            throw CheckpointError(.malformedMetadata, file: path, field: "tensor '\(name)'",
                                  "uses the reserved prefix \(Checkpoint.optimizerPrefix) but no \(MetadataKey.optimizer) entry lists it; re-save the checkpoint or rename the tensor")
        }
        for key in meta.keys.sorted() where key == MetadataKey.generator || key.hasPrefix(MetadataKey.generator + ".") {
            let text = meta.removeValue(forKey: key)!
            let words = text.split(separator: ",").compactMap { UInt64($0, radix: 16) }
            guard words.count == 4, text.split(separator: ",").count == 4, words.contains(where: { $0 != 0 }) else {
                throw bad(key, "is not four comma-separated hexadecimal words, not all zero")
            }
            let name = key == MetadataKey.generator ? "default" : String(key.dropFirst(MetadataKey.generator.count + 1))
            generatorStates[name] = words
        }
        if let text = meta.removeValue(forKey: MetadataKey.sampler) {
            guard let s = Checkpoint.decodeJSON(SamplerInfo.self, text), s.epoch >= 0,
                  (0...s.permutation.count).contains(s.position),
                  s.permutation.sorted() == Array(0..<s.permutation.count) else {
                throw bad(MetadataKey.sampler, "is not {\"epoch\": e, \"position\": p, \"permutation\": [...]} with a permutation of 0..<n and p in 0...n")
            }
            samplerState = ShuffledBatchSampler.State(epoch: s.epoch, permutation: s.permutation, position: s.position)
        }
        if let text = meta.removeValue(forKey: MetadataKey.training) {
            guard let t = Checkpoint.decodeJSON(TrainingState.self, text) else {
                throw bad(MetadataKey.training, "is not a training state {\"epoch\", \"batch\", \"step\", \"loss_sum_bits\", \"examples\", \"epochs_since_best\", \"stopped\", \"history\"}")
            }
            trainingState = t
        }
        metadata = meta
    }

    // MARK: Applying

    /// What ``apply(to:strict:)`` did.
    public struct ApplyReport: Sendable, Equatable {
        /// Model keys loaded from the checkpoint.
        public var loaded: [String]
        /// Model keys the checkpoint lacks (left unchanged; always empty after a strict apply).
        public var missing: [String]
        /// Checkpoint keys the model lacks (ignored; always empty after a strict apply).
        public var unexpected: [String]
    }

    /// Copies the checkpoint's tensors into `module`'s parameters and buffers with the same
    /// names, converted to each one's dtype (frozen parameters stay frozen). Nothing is changed
    /// when it throws.
    ///
    /// - Parameters:
    ///   - strict: `true` (default, like PyTorch's `load_state_dict(strict=True)`): every model
    ///     key must be present and the checkpoint must hold no other keys (the optimizer's
    ///     `__optimizer__.` tensors are not model keys). `false`: load the keys both have, and
    ///     report the rest.
    /// - Returns: the loaded, missing and unexpected keys.
    /// - Throws: ``CheckpointError`` (`.stateMismatch`) listing every missing and unexpected key
    ///   (strict only) and every shape mismatch with both shapes (always).
    @discardableResult
    public func apply(to module: Module, strict: Bool = true) throws(CheckpointError) -> ApplyReport {
        let parameters = module.namedParameters()
        let buffers = module.namedBuffers()
        let modelShapes = parameters.map { ($0.name, $0.parameter.shape) } + buffers.map { ($0.name, $0.buffer.value.shape) }
        let modelNames = Set(modelShapes.map(\.0))
        var missing: [String] = [], mismatched: [String] = [], loaded: [String] = []
        for (name, shape) in modelShapes {
            guard let t = tensors[name] else { missing.append(name); continue }
            if t.shape != shape {
                mismatched.append("\(name) (checkpoint \(t.shape), model \(shape))")
            } else {
                loaded.append(name)
            }
        }
        let unexpected = tensors.keys.filter { !modelNames.contains($0) }.sorted()
        var problems: [String] = []
        if strict && !missing.isEmpty {
            problems.append("missing keys (in the model, not in the checkpoint): " + missing.joined(separator: ", "))
        }
        if strict && !unexpected.isEmpty {
            problems.append("unexpected keys (in the checkpoint, not in the model): " + unexpected.joined(separator: ", "))
        }
        if !mismatched.isEmpty {
            problems.append("shape mismatches: " + mismatched.joined(separator: ", "))
        }
        if !problems.isEmpty {
            let hint = modelSpec.map { " (it was saved with model spec \"\($0)\")" } ?? ""
            throw CheckpointError(.stateMismatch, file: source?.path,
                                  "the checkpoint does not fit the model: " + problems.joined(separator: "; ")
                                  + "; build the model the checkpoint was saved from\(hint)"
                                  + (strict ? ", or apply with strict: false to load only the matching keys" : ""))
        }
        withNoGrad {
            for (name, p) in parameters {
                guard let t = tensors[name] else { continue }
                p.value = t.detached().to(p.value.dtype).contiguous()
            }
            for (name, b) in buffers {
                guard let t = tensors[name] else { continue }
                b.value = t.detached().to(b.value.dtype).contiguous()
            }
        }
        return ApplyReport(loaded: loaded, missing: missing, unexpected: unexpected)
    }

    // MARK: Restoring resume state

    /// Restores `optimizer`'s step counts and state tensors, so that its next ``Optimizer/step()``
    /// is the one the saved optimizer would have taken. Create it with the same type,
    /// hyperparameters and schedule over the same parameters (e.g. `model.parameters`), then call
    /// this. Works for any ``Optimizer`` subclass, including ones defined outside Neural.
    ///
    /// - Throws: ``CheckpointError``: `.missingState` when the checkpoint has no optimizer state,
    ///   `.stateMismatch` when the type, the parameter count or a state tensor's shape differs.
    public func restore(optimizer: Optimizer) throws(CheckpointError) {
        guard let state = optimizerState else {
            throw CheckpointError(.missingState, file: source?.path, field: MetadataKey.optimizer,
                                  "the checkpoint holds no optimizer state; start the optimizer afresh or resume from a checkpoint saved with optimizer:")
        }
        let type = String(describing: Swift.type(of: optimizer))
        if let saved = optimizerType, saved != type {
            throw CheckpointError(.stateMismatch, file: source?.path, field: MetadataKey.optimizer,
                                  "state of a \(saved) cannot resume a \(type); create a \(saved) with the same settings")
        }
        guard state.parameters.count == optimizer.parameters.count else {
            throw CheckpointError(.stateMismatch, file: source?.path, field: MetadataKey.optimizer,
                                  "state for \(state.parameters.count) parameters, but the optimizer has \(optimizer.parameters.count); create it over the same model's parameters")
        }
        for (i, p) in state.parameters.enumerated() {
            for (name, t) in p.tensors.sorted(by: { $0.key < $1.key }) where t.shape != optimizer.parameters[i].shape {
                throw CheckpointError(.stateMismatch, file: source?.path, field: "tensor '\(Checkpoint.optimizerPrefix)\(i).\(name)'",
                                      "has shape \(t.shape) but parameter \(i) has shape \(optimizer.parameters[i].shape); create the optimizer over the same model's parameters")
            }
        }
        optimizer.state = state
    }

    /// Sets `generator`'s state to the saved generator `name` (`"default"`: the one passed to `save(generator:)`).
    ///
    /// - Throws: ``CheckpointError`` (`.missingState`) when no such generator state was saved.
    public func restore(generator: RandomGenerator, name: String = "default") throws(CheckpointError) {
        guard let words = generatorStates[name] else {
            throw CheckpointError(.missingState, file: source?.path, field: MetadataKey.generator,
                                  "the checkpoint holds no state for random generator \"\(name)\"; reseed it instead")
        }
        generator.stateWords = words
    }

    /// Sets `sampler`'s epoch, permutation and position to the saved ones. Restore the generator
    /// it draws from too (``restore(generator:name:)``), so later epochs shuffle identically.
    ///
    /// - Throws: ``CheckpointError``: `.missingState` without saved sampler state,
    ///   `.stateMismatch` when the saved permutation is not over `sampler.count` examples.
    public func restore(sampler: inout ShuffledBatchSampler) throws(CheckpointError) {
        guard let state = samplerState else {
            throw CheckpointError(.missingState, file: source?.path, field: MetadataKey.sampler,
                                  "the checkpoint holds no sampler state; start the epoch afresh")
        }
        guard state.permutation.count == sampler.count else {
            throw CheckpointError(.stateMismatch, file: source?.path, field: MetadataKey.sampler,
                                  "saved for \(state.permutation.count) examples, but the dataset has \(sampler.count); resume with the same data")
        }
        sampler.state = state
    }

    // MARK: Configuration helpers

    /// Stores `value` as the training configuration (JSON with sorted keys).
    public mutating func setConfig<T: Encodable>(_ value: T) {
        config = Checkpoint.json(value)
    }

    /// The training configuration decoded as `T`.
    ///
    /// - Throws: ``CheckpointError``: `.missingState` without one, `.malformedMetadata` when it does not decode.
    public func decodeConfig<T: Decodable>(_: T.Type) throws(CheckpointError) -> T {
        guard let config else {
            throw CheckpointError(.missingState, file: source?.path, field: MetadataKey.config,
                                  "the checkpoint holds no training configuration; pass the settings explicitly")
        }
        guard let value = Checkpoint.decodeJSON(T.self, config) else {
            throw CheckpointError(.malformedMetadata, file: source?.path, field: MetadataKey.config,
                                  "does not decode as \(T.self); re-save the checkpoint with this version of Neural")
        }
        return value
    }

    // MARK: JSON

    /// `neural.optimizer`: type, step count and per parameter its update count and state tensor names.
    private struct OptimizerInfo: Codable {
        struct Parameter: Codable { var step: Int; var tensors: [String] }
        var type: String?
        var step: Int
        var parameters: [Parameter]
    }

    private struct SamplerInfo: Codable {
        var epoch: Int
        var position: Int
        var permutation: [Int]
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(value), let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s
    }

    private static func decodeJSON<T: Decodable>(_: T.Type, _ text: String) -> T? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(T.self, from: Data(text.utf8))
    }
}

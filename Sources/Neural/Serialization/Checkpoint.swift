import Foundation

/// A training checkpoint: the model's weights in a safetensors file that PyTorch loads as it is
/// (`safetensors.torch.load_file` + `load_state_dict(strict=True)` into the equivalent
/// `torch.nn.Sequential`), and everything needed to resume the run exactly in a second file beside it.
///
/// The weights file, e.g. `ck.safetensors`:
/// - tensors: the model's ``Module/stateDict()`` and nothing else (`0.weight`, `1.running_mean`, …;
///   BatchNorm's `num_batches_tracked` as I64);
/// - `__metadata__`: `neural.model` (the model spec string), `neural.config` (training
///   configuration, JSON), `neural.epoch`, `neural.preprocessing` (see ``setPreprocessing(_:)``),
///   `neural.format` (`2`), any caller entries in ``metadata``, and, when the checkpoint has resume
///   state, `neural.state.file` (the name of its state file, in the same directory) and
///   `neural.state.id` (the id of this save, which the state file repeats).
///
/// The resume-state file, e.g. `ck.state-3f9c0a1b2d4e5f60.safetensors` (only when there is resume state):
/// - tensors: each optimizer state tensor as `__optimizer__.<parameter index>.<state name>` (e.g.
///   Adam's m and v of parameter 0 are `__optimizer__.0.exp_avg` and `__optimizer__.0.exp_avg_sq`);
/// - `__metadata__`: `neural.state.id`, `neural.optimizer` (JSON: `type`, `step` and `parameters`,
///   one `{"step", "tensors"}` per parameter: its update count and the names of its state
///   tensors), `neural.generator` (the ``RandomGenerator/stateWords`` as four comma-separated hex
///   words; other named generators under `neural.generator.<name>`), `neural.sampler` (JSON:
///   `epoch`, `position`, `permutation`), `neural.training` (the ``TrainingState`` as JSON:
///   epoch, batch within the epoch, step, loss accumulators as bit patterns, early-stopping
///   state, history), `neural.format` (`2`).
///
/// ``write(to:)`` writes the state file under a new id first, then the weights file naming it (the
/// commit point), then deletes the state files of earlier saves and the temporaries of interrupted
/// ones; each file is written atomically (temporary file, fsync, rename, directory fsync). So at
/// any moment, a crash included, the weights file is the previous or the new one, and the state
/// file it names is complete. ``load(from:resumeState:)`` reads the state file and checks that it
/// carries the weights file's id: a missing or foreign state file is a ``CheckpointError``
/// (`.tornPair`) naming both files.
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
/// state is absent (``optimizerState`` etc. are `nil`). A single-file checkpoint of an earlier
/// version (its resume state inside the weights file) loads and resumes too.
public struct Checkpoint: Sendable {
    /// Prefix of the optimizer's state tensors in a state file; never part of the model's state.
    package static let optimizerPrefix = "__optimizer__."

    /// Metadata keys this type reads and writes.
    package enum MetadataKey {
        /// The model spec string.
        package static let model = "neural.model"
        /// The training configuration, JSON.
        package static let config = "neural.config"
        /// The number of completed epochs.
        package static let epoch = "neural.epoch"
        /// The optimizer's type, step counts and state tensor names, JSON.
        package static let optimizer = "neural.optimizer"
        /// The default random generator's state words (`neural.generator.<name>` for named ones).
        package static let generator = "neural.generator"
        /// The shuffled batch sampler's state, JSON.
        package static let sampler = "neural.sampler"
        /// The checkpoint layout version (`2`: weights and resume state in two files).
        package static let format = "neural.format"
        /// The trainer's ``TrainingState``, JSON.
        package static let training = "neural.training"
        /// In the weights file: the name of its resume-state file.
        package static let stateFile = "neural.state.file"
        /// In both files: the id of the save that wrote them.
        package static let stateID = "neural.state.id"
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
    /// The weights file this checkpoint was loaded from (named in errors), if any.
    public var source: URL?
    /// The file the resume state was read from (the state file, or ``source`` for a single-file
    /// checkpoint), named in errors about that state.
    var stateSource: URL?

    /// A checkpoint of `model`'s current state and, optionally, the state needed to resume.
    ///
    /// - Parameters:
    ///   - model: its ``Module/stateDict()`` becomes the tensors.
    ///   - optimizer: its ``Optimizer/state`` and class name.
    ///   - generator: its ``RandomGenerator/stateWords``, stored as generator `"default"`.
    ///   - sampler: its `state`.
    ///   - modelSpec: the model spec string (`neural.model`).
    ///   - config: the training configuration as JSON text (`neural.config`).
    ///   - epoch: completed epochs (`neural.epoch`).
    ///   - metadata: extra `__metadata__` entries of the weights file (keys starting with `neural.` are reserved).
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

    /// Whether there is anything to resume from besides the weights (optimizer, generators,
    /// sampler or trainer state): then ``write(to:)`` writes a state file beside the weights.
    var hasResumeState: Bool {
        optimizerState != nil || !generatorStates.isEmpty || samplerState != nil || trainingState != nil
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
    ///   - module: the model to load into.
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

    /// `value` as JSON text with sorted keys (non-finite numbers as `"inf"`, `"-inf"`, `"nan"`).
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(value), let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s
    }

    /// `text` decoded as JSON of a `T` (nil when it does not decode).
    static func decodeJSON<T: Decodable>(_: T.Type, _ text: String) -> T? {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(T.self, from: Data(text.utf8))
    }
}

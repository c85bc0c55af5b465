import Foundation

extension Checkpoint {
    /// Whether `key` is a `__metadata__` entry of the resume state (kept in the state file).
    static func isResumeStateKey(_ key: String) -> Bool {
        key == MetadataKey.optimizer || key == MetadataKey.sampler || key == MetadataKey.training
            || key == MetadataKey.generator || key.hasPrefix(MetadataKey.generator + ".")
    }

    /// The contents of the resume-state file of save `id`: the optimizer's state tensors under
    /// `__optimizer__.<parameter index>.<state name>`, and the optimizer's counts, the generators,
    /// the sampler and the trainer's state as `__metadata__` (see ``Checkpoint``).
    package func resumeStateFile(id: String) -> SafeTensors {
        var tensors: [String: Tensor] = [:]
        var meta = [MetadataKey.format: "2", MetadataKey.stateID: id]
        if let state = optimizerState {
            for (i, p) in state.parameters.enumerated() {
                for (name, t) in p.tensors { tensors["\(Checkpoint.optimizerPrefix)\(i).\(name)"] = t.detached() }
            }
            let parameters = state.parameters.map { OptimizerInfo.Parameter(step: $0.step, tensors: $0.tensors.keys.sorted()) }
            meta[MetadataKey.optimizer] = Checkpoint.json(OptimizerInfo(type: optimizerType, step: state.step, parameters: parameters))
        }
        for (name, words) in generatorStates {
            let key = name == "default" ? MetadataKey.generator : MetadataKey.generator + "." + name
            meta[key] = words.map { String($0, radix: 16) }.joined(separator: ",")
        }
        if let s = samplerState {
            meta[MetadataKey.sampler] = Checkpoint.json(SamplerInfo(epoch: s.epoch, position: s.position, permutation: s.permutation))
        }
        if let t = trainingState { meta[MetadataKey.training] = Checkpoint.json(t) }
        return SafeTensors(tensors: tensors, metadata: meta)
    }

    /// Reads the resume state (optimizer, generators, sampler, trainer) from the `__optimizer__.`
    /// tensors and the resume entries of `file`'s `__metadata__`; other entries are not looked at.
    /// `path` is named in errors.
    ///
    /// - Throws: ``CheckpointError`` (`.malformedMetadata`) for an entry or tensor that does not parse.
    mutating func readResumeState(_ file: SafeTensors, path: String?) throws(CheckpointError) {
        func bad(_ key: String, _ why: String) -> CheckpointError {
            CheckpointError(.malformedMetadata, file: path, field: "__metadata__ \"\(key)\"",
                            "\(why); re-save the checkpoint with Neural or remove the entry")
        }
        var optimizerTensors = file.tensors.filter { $0.key.hasPrefix(Checkpoint.optimizerPrefix) }
        let meta = file.metadata
        if let text = meta[MetadataKey.optimizer] {
            let slots = try Checkpoint.decodeJSON(SlotOptimizerInfo.self, text).map { (s) throws(CheckpointError) in
                try s.named(renaming: &optimizerTensors, path: path)
            }
            guard let info = slots ?? Checkpoint.decodeJSON(OptimizerInfo.self, text), info.step >= 0,
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
            let text = meta[key]!
            let words = text.split(separator: ",").compactMap { UInt64($0, radix: 16) }
            guard words.count == 4, text.split(separator: ",").count == 4, words.contains(where: { $0 != 0 }) else {
                throw bad(key, "is not four comma-separated hexadecimal words, not all zero")
            }
            let name = key == MetadataKey.generator ? "default" : String(key.dropFirst(MetadataKey.generator.count + 1))
            generatorStates[name] = words
        }
        if let text = meta[MetadataKey.sampler] {
            guard let s = Checkpoint.decodeJSON(SamplerInfo.self, text), s.epoch >= 0,
                  (0...s.permutation.count).contains(s.position),
                  s.permutation.sorted() == Array(0..<s.permutation.count) else {
                throw bad(MetadataKey.sampler, "is not {\"epoch\": e, \"position\": p, \"permutation\": [...]} with a permutation of 0..<n and p in 0...n")
            }
            samplerState = ShuffledBatchSampler.State(epoch: s.epoch, permutation: s.permutation, position: s.position)
        }
        if let text = meta[MetadataKey.training] {
            guard let t = Checkpoint.decodeJSON(TrainingState.self, text) else {
                throw bad(MetadataKey.training, "is not a training state {\"epoch\", \"batch\", \"step\", \"loss_sum_bits\", \"examples\", \"epochs_since_best\", \"stopped\", \"history\"}")
            }
            trainingState = t
        }
    }

    /// Restores `optimizer`'s step counts and state tensors, so that its next ``Optimizer/step()``
    /// is the one the saved optimizer would have taken. Create it with the same type,
    /// hyperparameters and schedule over the same parameters (e.g. `model.parameters`), then call
    /// this. Works for any ``Optimizer`` subclass, including ones defined outside Neural.
    ///
    /// - Throws: ``CheckpointError``: `.missingState` when the checkpoint has no optimizer state,
    ///   `.stateMismatch` when the type, the parameter count or a state tensor's shape differs.
    public func restore(optimizer: Optimizer) throws(CheckpointError) {
        guard let state = optimizerState else {
            throw CheckpointError(.missingState, file: stateSource?.path, field: MetadataKey.optimizer,
                                  "the checkpoint holds no optimizer state; start the optimizer afresh or resume from a checkpoint saved with optimizer:")
        }
        let type = String(describing: Swift.type(of: optimizer))
        if let saved = optimizerType, saved != type {
            throw CheckpointError(.stateMismatch, file: stateSource?.path, field: MetadataKey.optimizer,
                                  "state of a \(saved) cannot resume a \(type); create a \(saved) with the same settings")
        }
        guard state.parameters.count == optimizer.parameters.count else {
            throw CheckpointError(.stateMismatch, file: stateSource?.path, field: MetadataKey.optimizer,
                                  "state for \(state.parameters.count) parameters, but the optimizer has \(optimizer.parameters.count); create it over the same model's parameters")
        }
        for (i, p) in state.parameters.enumerated() {
            for (name, t) in p.tensors.sorted(by: { $0.key < $1.key }) where t.shape != optimizer.parameters[i].shape {
                throw CheckpointError(.stateMismatch, file: stateSource?.path, field: "tensor '\(Checkpoint.optimizerPrefix)\(i).\(name)'",
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
            throw CheckpointError(.missingState, file: stateSource?.path, field: MetadataKey.generator,
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
            throw CheckpointError(.missingState, file: stateSource?.path, field: MetadataKey.sampler,
                                  "the checkpoint holds no sampler state; start the epoch afresh")
        }
        guard state.permutation.count == sampler.count else {
            throw CheckpointError(.stateMismatch, file: stateSource?.path, field: MetadataKey.sampler,
                                  "saved for \(state.permutation.count) examples, but the dataset has \(sampler.count); resume with the same data")
        }
        sampler.state = state
    }

    /// `neural.optimizer`: type, step count and per parameter its update count and state tensor names.
    struct OptimizerInfo: Codable {
        /// One parameter's update count and the names of its state tensors.
        struct Parameter: Codable { var step: Int; var tensors: [String] }
        var type: String?
        var step: Int
        var parameters: [Parameter]
    }

    /// `neural.optimizer` as single-file checkpoints of earlier versions wrote it: state tensors
    /// numbered per parameter (`__optimizer__.<parameter>.<slot>`) in each built-in optimizer's
    /// fixed order, with the update counts in `parameter_steps`.
    struct SlotOptimizerInfo: Codable {
        var type: String?
        var step: Int
        var parameter_steps: [Int]
        var slots: [Int]

        /// The state tensor names of `count` slots of optimizer `type`, in slot order; nil when
        /// they cannot be told (an optimizer defined outside Neural, or RMSProp with two slots:
        /// momentum or centered).
        static func names(type: String?, count: Int) -> [String]? {
            switch (type, count) {
            case (_, 0): return []
            case ("SGD", 1): return ["momentum_buffer"]
            case ("Adam", 2), ("AdamW", 2): return ["exp_avg", "exp_avg_sq"]
            case ("RMSProp", 1): return ["square_avg"]
            case ("RMSProp", 3): return ["square_avg", "momentum_buffer", "grad_avg"]
            default: return nil
            }
        }

        /// The same state in today's layout: renames the numbered tensors in `tensors` to their
        /// state names and returns the matching ``OptimizerInfo``.
        ///
        /// - Throws: ``CheckpointError`` (`.malformedMetadata`) when the counts disagree or the
        ///   slots cannot be named.
        func named(renaming tensors: inout [String: Tensor], path: String?) throws(CheckpointError) -> OptimizerInfo {
            let field = "__metadata__ \"\(MetadataKey.optimizer)\""
            guard parameter_steps.count == slots.count else {
                throw CheckpointError(.malformedMetadata, file: path, field: field,
                                      "lists \(parameter_steps.count) parameter_steps but \(slots.count) slots; re-save the checkpoint")
            }
            var parameters: [OptimizerInfo.Parameter] = []
            for (i, count) in slots.enumerated() {
                guard let names = SlotOptimizerInfo.names(type: type, count: count) else {
                    throw CheckpointError(.malformedMetadata, file: path, field: field,
                                          "holds \(count) numbered state slots of a \(type ?? "unnamed optimizer") (the layout of an earlier Neural version), which cannot be named unambiguously; load the weights alone (Checkpoint.load(from:resumeState: false), as neural predict and evaluate do) and start a new run from them")
                }
                for (k, name) in names.enumerated() {
                    let key = "\(Checkpoint.optimizerPrefix)\(i).\(k)"
                    guard let t = tensors.removeValue(forKey: key) else {
                        throw CheckpointError(.malformedMetadata, file: path, field: "tensor '\(key)'",
                                              "is listed in \(MetadataKey.optimizer) but missing from the file; re-save the checkpoint")
                    }
                    tensors["\(Checkpoint.optimizerPrefix)\(i).\(name)"] = t
                }
                parameters.append(.init(step: parameter_steps[i], tensors: names))
            }
            return OptimizerInfo(type: type, step: step, parameters: parameters)
        }
    }

    /// `neural.sampler`: the epoch, the place in it and the epoch's permutation.
    struct SamplerInfo: Codable {
        var epoch: Int
        var position: Int
        var permutation: [Int]
    }
}

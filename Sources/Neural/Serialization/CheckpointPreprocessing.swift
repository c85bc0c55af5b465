import Foundation

extension Checkpoint.MetadataKey {
    /// `__metadata__` key of the training data's ``Preprocessing`` (JSON).
    package static let preprocessing = "neural.preprocessing"
}

extension Checkpoint {
    /// Stores how the training data was encoded and standardised, so that `predict` and
    /// `evaluate` feed the model what it was trained on (nil or an identity value removes it).
    public mutating func setPreprocessing(_ value: Preprocessing?) {
        guard let value, !value.isIdentity else {
            metadata.removeValue(forKey: MetadataKey.preprocessing)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) {
            metadata[MetadataKey.preprocessing] = text
        }
    }

    /// The stored ``Preprocessing`` (nil when the checkpoint has none, e.g. one written by PyTorch).
    ///
    /// - Throws: ``CheckpointError`` (`.malformedMetadata`) when the entry does not decode.
    public func preprocessing() throws(CheckpointError) -> Preprocessing? {
        guard let text = metadata[MetadataKey.preprocessing] else { return nil }
        func valid(_ s: Standardizer?) -> Bool {
            guard let s else { return true }
            return s.mean.count == s.std.count && s.std.allSatisfy { $0 > 0 && $0.isFinite } && s.mean.allSatisfy(\.isFinite)
        }
        guard let value = try? JSONDecoder().decode(Preprocessing.self, from: Data(text.utf8)),
              valid(value.inputScaler), valid(value.targetScaler) else {
            throw CheckpointError(.malformedMetadata, file: source?.path, field: "__metadata__ \"\(MetadataKey.preprocessing)\"",
                                  "is not the JSON of a Preprocessing value with one finite mean and positive std per feature; re-save the checkpoint with Neural or remove the entry")
        }
        return value
    }
}

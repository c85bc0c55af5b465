import Foundation

extension Checkpoint.MetadataKey {
    /// `__metadata__` key of a language model's ``TextTokenizer`` (its ``TextTokenizer/json``).
    package static let tokenizer = "neural.tokenizer"
}

extension Checkpoint {
    /// Stores the tokenizer a language model was trained with, so that `neural generate` maps a
    /// prompt to the same ids.
    public mutating func setTokenizer(_ tokenizer: TextTokenizer) {
        metadata[MetadataKey.tokenizer] = tokenizer.json
    }

    /// The stored ``TextTokenizer`` (nil when there is none: not a text model, or written by PyTorch).
    ///
    /// - Throws: ``CheckpointError`` (`.malformedMetadata`) when the entry does not decode.
    public func tokenizer() throws(CheckpointError) -> TextTokenizer? {
        guard let text = metadata[MetadataKey.tokenizer] else { return nil }
        guard let tokenizer = TextTokenizer(json: text) else {
            throw CheckpointError(.malformedMetadata, file: source?.path, field: "__metadata__ \"\(MetadataKey.tokenizer)\"",
                                  "is not {\"kind\":\"char\",\"vocabulary\":\"<sorted characters>\"} or {\"kind\":\"byte\"}; re-save the checkpoint with neural train")
        }
        return tokenizer
    }
}

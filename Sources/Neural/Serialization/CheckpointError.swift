/// Why a safetensors file or a checkpoint could not be written, read or applied. Every malformed
/// input becomes one of these (never a crash); ``description`` is one line that names the file,
/// the tensor or field at fault and what to do about it.
///
/// ```swift
/// do { let ckpt = try Checkpoint.load(from: url) }
/// catch let error as CheckpointError { print(error) }   // "model.safetensors: tensor '0.weight': …"
/// ```
public struct CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure, for code that wants to react to one in particular.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file could not be opened, read, written, synced or renamed.
        case io
        /// The file ends before its 8-byte header length, or before its data.
        case truncated
        /// The header length points past the end of the file (or is absurdly large).
        case headerLength
        /// The header is not valid UTF-8 JSON of the safetensors layout.
        case malformedHeader
        /// A tensor's `dtype` is not one this library reads.
        case unknownDType
        /// A tensor's `data_offsets` lie outside the data buffer or overlap another tensor's.
        case offsets
        /// A tensor's byte range does not match shape × dtype size.
        case sizeMismatch
        /// A tensor cannot be stored as requested (e.g. a non-integral count as I64).
        case invalidTensor
        /// `__metadata__` holds a `neural.*` entry that does not parse.
        case malformedMetadata
        /// The checkpoint's tensors do not fit the model (missing, unexpected or mis-shaped keys).
        case stateMismatch
        /// The checkpoint lacks the state asked for (e.g. optimizer state), or it does not fit the object.
        case missingState
        /// The weights file's resume-state file is missing, unreadable or from another save.
        case tornPair
    }

    /// The kind of failure.
    public let kind: Kind
    /// The file involved (its path), when there is one.
    public let file: String?
    /// The tensor or metadata field at fault, when there is one.
    public let field: String?
    /// What went wrong and how to fix it.
    public let message: String

    /// An error of `kind` about `file` (a path) and `field`, explained by `message`.
    package init(_ kind: Kind, file: String?, field: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.message = message
    }

    /// `FILE: FIELD: message`, with the parts that are known.
    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let field { parts.append(field) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

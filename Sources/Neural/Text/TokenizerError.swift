import Foundation

/// A problem with a tokenizer's files: a vocabulary that is missing, unreadable, not UTF-8 or lacks a
/// special token, or a configuration file that is not valid JSON. Its ``description`` is one line that
/// names the file (its whole path, as given), the line when there is one, and the fix.
///
/// ```swift
/// do { _ = try WordPieceTokenizer(vocabularyFile: "vocab.txt") }
/// catch let error as TokenizerError { print(error) }   // "vocab.txt: has no [UNK] token, …"
/// ```
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is.
    public enum Kind: String, Sendable, Equatable {
        /// A file does not exist, is a directory or cannot be read.
        case missingFile
        /// A file's bytes are not valid UTF-8 text.
        case notUTF8
        /// The vocabulary lacks a special token the tokenizer needs (`[UNK]`, `[CLS]`, `[SEP]`, `[PAD]`).
        case missingToken
        /// A configuration file is not a JSON object, or one of its fields has the wrong type or value.
        case badConfig
    }

    /// What kind of problem it is.
    public let kind: Kind
    /// The file concerned, as given.
    public let path: String
    /// The 1-based line of the file the problem is on, if any.
    public let line: Int?
    /// The problem and, when there is one, the fix, without the file name.
    public let detail: String

    /// An error about `path`, optionally at a 1-based `line`.
    package init(_ kind: Kind, path: String, line: Int? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.detail = detail
    }

    /// One line: `"<path>: <detail>"`, or `"<path> line <l>: <detail>"`.
    public var description: String {
        if let line { return "\(path) line \(line): \(detail)" }
        return "\(path): \(detail)"
    }

    /// Reads a whole file, throwing ``TokenizerError`` (`missingFile`) when it is absent, a directory
    /// or unreadable.
    static func readFile(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError(.missingFile, path: path, "no such file")
        }
        if isDirectory.boolValue {
            throw TokenizerError(.missingFile, path: path, "is a directory, expected a file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TokenizerError(.missingFile, path: path, "cannot be read (\(error.localizedDescription))")
        }
    }
}

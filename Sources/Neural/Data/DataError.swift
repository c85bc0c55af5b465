import Foundation

/// A problem with a dataset file: missing, truncated, corrupt or malformed. Readers throw it instead
/// of crashing, and its ``description`` is one line that names the file, where in it the problem is
/// (offset, line, column) and, when there is one, the fix.
///
/// ```swift
/// do { let train = try MNIST.load(directory: dir, split: .train) }
/// catch let error as DataError { print(error) }   // "train-images-idx3-ubyte.gz: bad magic 2049 at offset 0, …"
/// ```
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem it is.
    public enum Kind: String, Sendable, Equatable {
        /// A directory that should hold the data does not exist.
        case missingDirectory
        /// A file does not exist or cannot be read.
        case missingFile
        /// A compressed stream is not valid gzip/deflate data.
        case corruptCompression
        /// The file ends before the data its header announces.
        case truncated
        /// A magic number or format signature is wrong.
        case badMagic
        /// A header field, a count or a size disagrees with the rest of the file.
        case badHeader
        /// A field cannot be parsed (a CSV cell, an npy header entry).
        case badValue
        /// The file is valid but uses a feature this reader does not support.
        case unsupported
        /// Writing a file failed.
        case writeFailed
    }

    /// What kind of problem it is.
    public let kind: Kind
    /// The file (or directory) concerned, as given.
    public let path: String
    /// The 1-based line of a text file (a CSV row) the problem is on, if any.
    public let line: Int?
    /// The column (a CSV header name) the problem is in, if any.
    public let column: String?
    /// The problem and, when there is one, the fix, without the file name and location.
    public let detail: String

    /// An error about `path`, optionally at a `line` and `column` of a text file.
    package init(_ kind: Kind, path: String, line: Int? = nil, column: String? = nil, _ detail: String) {
        self.kind = kind
        self.path = path
        self.line = line
        self.column = column
        self.detail = detail
    }

    /// The file's last path component (the whole path for a directory problem).
    package var fileName: String {
        kind == .missingDirectory ? path : (path as NSString).lastPathComponent
    }

    /// One line: `"<file>: <detail>"`, or `"<file> line <l>, column <c>: <detail>"` with a location.
    public var description: String {
        var location = [String]()
        if let line { location.append("line \(line)") }
        if let column { location.append("column \(column)") }
        return location.isEmpty ? "\(fileName): \(detail)" : "\(fileName) \(location.joined(separator: ", ")): \(detail)"
    }
}

extension DataError {
    /// Reads a whole file, throwing ``DataError`` (`missingFile`) when it is absent or unreadable.
    static func readFile(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(.missingFile, path: path, "no such file (looked for \(path))")
        }
        if isDirectory.boolValue {
            throw DataError(.missingFile, path: path, "is a directory, expected a file (\(path))")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw DataError(.missingFile, path: path, "cannot be read (\(error.localizedDescription))")
        }
    }
}

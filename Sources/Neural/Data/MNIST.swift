import Foundation

/// The MNIST handwritten digits (LeCun, Cortes, Burges), read straight from the four IDX `.gz`
/// files of the original distribution:
///
/// | split | images | labels |
/// |---|---|---|
/// | train (60,000) | `train-images-idx3-ubyte.gz` | `train-labels-idx1-ubyte.gz` |
/// | test (10,000) | `t10k-images-idx3-ubyte.gz` | `t10k-labels-idx1-ubyte.gz` |
///
/// An uncompressed copy (the same name without `.gz`) is used when the `.gz` file is absent.
/// Every header field is checked (magic 2051/2049, 28×28 images, counts against the bytes present,
/// image and label counts equal, labels 0–9); problems throw ``DataError``.
///
/// ```swift
/// let train = try MNIST.load(directory: "../shared/data/mnist", split: .train)  // inputs [60000, 1, 28, 28]
/// let test = try MNIST.load(directory: "../shared/data/mnist", split: .test)    // inputs [10000, 1, 28, 28]
/// ```
public enum MNIST {
    /// Which of the two standard sets.
    public enum Split: String, Sendable, CaseIterable {
        /// The 60,000 training images.
        case train
        /// The 10,000 test images.
        case test

        /// The images file's name, e.g. `train-images-idx3-ubyte.gz`.
        package var imagesFile: String { self == .train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz" }
        /// The labels file's name, e.g. `train-labels-idx1-ubyte.gz`.
        package var labelsFile: String { self == .train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz" }
    }

    /// The mean of the training pixels scaled to [0, 1] (the usual normalisation constant).
    package static let mean = 0.1307
    /// The standard deviation of the training pixels scaled to [0, 1].
    package static let std = 0.3081
    /// The four file names, train first.
    package static let fileNames = [Split.train.imagesFile, Split.train.labelsFile, Split.test.imagesFile, Split.test.labelsFile]
    /// Where to get the files when they are missing.
    package static let downloadHint =
        "get the four files from https://yann.lecun.com/exdb/mnist/ (or a mirror such as "
        + "https://ossci-datasets.s3.amazonaws.com/mnist/) and keep them gzipped"

    /// One split as a classification dataset.
    ///
    /// - Parameters:
    ///   - directory: the folder holding the four files.
    ///   - split: `.train` or `.test`.
    ///   - normalize: `false` (default) scales pixels to [0, 1]; `true` also subtracts `mean` and
    ///     divides by `std`.
    ///   - dtype: the inputs' element type (default Float32).
    /// - Returns: inputs `[n, 1, 28, 28]` and labels in 0..<10 (`classCount` 10).
    /// - Throws: ``DataError`` for a missing directory or file, corrupt or truncated gzip, a wrong
    ///   magic number, or sizes that disagree.
    public static func load(directory: String, split: Split, normalize: Bool = false,
                            dtype: DType = .float32) throws -> TensorDataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError(.missingDirectory, path: directory,
                            "MNIST directory not found; expected \(fileNames.joined(separator: ", ")) in \(directory) — \(downloadHint)")
        }
        let images = try readImages(path: locate(split.imagesFile, in: directory))
        let labels = try readLabels(path: locate(split.labelsFile, in: directory))
        guard images.count == labels.count else {
            throw DataError(.badHeader, path: (directory as NSString).appendingPathComponent(split.labelsFile),
                            "\(labels.count) labels but \(split.imagesFile) has \(images.count) images (files from different splits?)")
        }
        let tensorBytes = Double(images.pixels.count) * Double(dtype.byteSize)
        try MemoryBudget.check(tensorBytes, for: "the \(split.imagesFile) images as \(dtype) (\(images.count)×\(images.rows)×\(images.columns))",
                               hint: "free memory, or load them as float32")
        let scale = normalize ? 1 / (255 * std) : 1 / 255.0
        let shift = normalize ? -mean / std : 0
        let x = Tensor(uninitialized: [images.count, 1, images.rows, images.columns], dtype: dtype)
        images.pixels.withUnsafeBufferPointer { p in
            switch dtype {
            case .float32:
                let out = x.pointer(Float.self), s = Float(scale), b = Float(shift)
                for i in 0..<p.count { out[i] = Float(p[i]) * s + b }
            case .float64:
                let out = x.pointer(Double.self)
                for i in 0..<p.count { out[i] = Double(p[i]) * scale + shift }
            case .int32, .int64: dtype.floatOnly("MNIST images")
            }
        }
        return TensorDataset(inputs: x, labels: labels, classCount: 10)
    }

    /// The path of `name` in `directory`, or of its uncompressed twin when only that exists.
    static func locate(_ name: String, in directory: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: path) { return path }
        let plain = String(path.dropLast(3))
        if FileManager.default.fileExists(atPath: plain) { return plain }
        throw DataError(.missingFile, path: path, "not found in \(directory) — \(downloadHint)")
    }

    /// The pixels of an IDX3 images file, as ``decodeImages(_:file:)`` returns them.
    public struct Images: Sendable, Equatable {
        /// The number of images.
        package let count: Int
        /// Rows per image (28).
        package let rows: Int
        /// Columns per image (28).
        package let columns: Int
        /// `count × rows × columns` bytes, image by image, row-major.
        package let pixels: [UInt8]
    }

    /// Parses the bytes of an IDX3 images file (`magic 2051, count, 28, 28`, then the pixels),
    /// gzip-compressed or not.
    ///
    /// Memory is bounded by the file: a compressed file is inflated only up to the size its
    /// header announces (one byte more proves it too long), never beyond what the data hold.
    ///
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - file: its path, named in errors; a name ending in `.gz` must hold gzip data.
    /// - Throws: ``DataError``: `.corruptCompression` or `.truncated` for a bad gzip stream,
    ///   `.badMagic`, `.truncated` for a short header or fewer pixels than announced, `.badHeader`
    ///   for images that are not 28×28 or more bytes than announced.
    public static func decodeImages(_ data: Data, file: String) throws -> Images {
        try reportingCorruptStream(data, file: file) {
            let b = try idxContents(data, file: file, headerLength: 16) { header in
                try imagesHeader(header, compressed: true, file: file).bytes
            }
            let (n, rows, columns, expected) = try imagesHeader(b, compressed: isCompressed(data, file: file), file: file)
            guard b.count == expected else {
                throw sizeError(n, "images", expected: expected, found: b.count, compressed: isCompressed(data, file: file), file: file)
            }
            return Images(count: n, rows: rows, columns: columns, pixels: Array(b[16...]))
        }
    }

    /// Parses the bytes of an IDX1 labels file (`magic 2049, count`, then one byte per label),
    /// gzip-compressed or not; memory is bounded as for ``decodeImages(_:file:)``.
    ///
    /// - Returns: the labels, each in 0..<10.
    /// - Throws: ``DataError`` as ``decodeImages(_:file:)``, and `.badValue` for a label above 9.
    public static func decodeLabels(_ data: Data, file: String) throws -> [Int] {
        try reportingCorruptStream(data, file: file) {
            let b = try idxContents(data, file: file, headerLength: 8) { header in
                try labelsHeader(header, compressed: true, file: file).bytes
            }
            let (n, expected) = try labelsHeader(b, compressed: isCompressed(data, file: file), file: file)
            guard b.count == expected else {
                throw sizeError(n, "labels", expected: expected, found: b.count, compressed: isCompressed(data, file: file), file: file)
            }
            var labels = [Int](repeating: 0, count: n)
            for i in 0..<n {
                let v = Int(b[8 + i])
                guard v < 10 else { throw DataError(.badValue, path: file, "label \(v) at offset \(8 + i) is not a digit 0–9") }
                labels[i] = v
            }
            return labels
        }
    }

    /// Runs `body`; when it throws about a compressed file's contents (read before the stream's
    /// CRC could be checked), a corrupt or truncated stream is the real cause, so the stream is
    /// checked first, in constant memory, and its error is thrown instead.
    static func reportingCorruptStream<T>(_ data: Data, file: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DataError where isCompressed(data, file: file)
            && error.kind != .corruptCompression && !(error.kind == .truncated && error.detail.contains("gzip")) {
            try Gzip.check(data, file: file)
            throw error
        }
    }

    /// Whether a file is read as gzip: its name ends in `.gz` or it starts with the gzip signature.
    static func isCompressed(_ data: Data, file: String) -> Bool {
        file.hasSuffix(".gz") || Gzip.isGzip(data)
    }

    /// An IDX file's bytes, gunzipped when compressed: first the `headerLength`-byte header (fewer
    /// when the stream is shorter), from which `size` computes the whole file's size, then at most
    /// one byte more than that.
    static func idxContents(_ data: Data, file: String, headerLength: Int, size: ([UInt8]) throws -> Int) throws -> [UInt8] {
        guard isCompressed(data, file: file) else { return [UInt8](data) }
        let header = try Gzip.decompress(data, file: file, limit: headerLength)
        let expected = try size(header)
        return try Gzip.decompress(data, file: file, limit: expected + 1)
    }

    /// The error for a file whose size disagrees with the `n` images or labels its header announces.
    /// (A compressed file is inflated to at most one byte more than `expected`.)
    static func sizeError(_ n: Int, _ what: String, expected: Int, found: Int, compressed: Bool, file: String) -> DataError {
        let has = compressed ? (found > expected ? "more than \(expected) bytes" : "\(found) bytes") + " after decompression"
                             : "\(found) bytes"
        return DataError(found < expected ? .truncated : .badHeader, path: file,
                         "header at offset 4 announces \(n) \(what) (\(expected) bytes) but the file has \(has)"
                         + (found < expected ? " (truncated: re-download the file)" : " (corrupt header or trailing data: re-download the file)"))
    }

    /// A big-endian 32-bit integer at `offset`.
    static func int32(_ b: [UInt8], _ offset: Int) -> Int {
        Int(UInt32(b[offset]) << 24 | UInt32(b[offset + 1]) << 16 | UInt32(b[offset + 2]) << 8 | UInt32(b[offset + 3]))
    }

    /// Checks the start of an IDX file: the magic number `magic` at offset 0 (an `idx` file of
    /// unsigned-byte `contents`; a file that starts with `otherMagic` is asked about as
    /// `otherFile`), and at least `length` bytes for the whole header.
    static func checkIDXHeader(_ b: [UInt8], magic: Int, idx: String, contents: String, otherMagic: Int, otherFile: String,
                               length: Int, compressed: Bool, file: String) throws {
        if b.count >= 4, int32(b, 0) != magic {
            let found = int32(b, 0)
            throw DataError(.badMagic, path: file, "bad magic \(found) at offset 0, expected \(magic) (\(idx) unsigned-byte \(contents))"
                            + (found == otherMagic ? " (is this \(otherFile)?)" : ""))
        }
        guard b.count >= length else {
            throw DataError(.truncated, path: file, "\(b.count) bytes\(compressed ? " after decompression" : ""), too short for the \(length)-byte \(idx) header")
        }
    }

    /// The checked IDX3 header at the start of `b`: image count, rows, columns and the file's size.
    static func imagesHeader(_ b: [UInt8], compressed: Bool, file: String) throws -> (count: Int, rows: Int, columns: Int, bytes: Int) {
        try checkIDXHeader(b, magic: 2051, idx: "IDX3", contents: "images", otherMagic: 2049, otherFile: "a labels file",
                           length: 16, compressed: compressed, file: file)
        let n = int32(b, 4), rows = int32(b, 8), columns = int32(b, 12)
        guard rows == 28 && columns == 28 else {
            throw DataError(.badHeader, path: file, "images are \(rows)×\(columns) (offsets 8 and 12), expected 28×28")
        }
        return (n, rows, columns, 16 + n * rows * columns)   // < 2^42: no overflow
    }

    /// The checked IDX1 header at the start of `b`: label count and the file's size.
    static func labelsHeader(_ b: [UInt8], compressed: Bool, file: String) throws -> (count: Int, bytes: Int) {
        try checkIDXHeader(b, magic: 2049, idx: "IDX1", contents: "labels", otherMagic: 2051, otherFile: "an images file",
                           length: 8, compressed: compressed, file: file)
        let n = int32(b, 4)
        return (n, 8 + n)
    }

    /// Reads an IDX3 images file (gzip-compressed or not); see ``decodeImages(_:file:)``.
    ///
    /// - Throws: ``DataError`` naming `path`: `.missingFile`, or as ``decodeImages(_:file:)``.
    package static func readImages(path: String) throws -> Images {
        try decodeImages(DataError.readFile(path), file: path)
    }

    /// Reads an IDX1 labels file (gzip-compressed or not); see ``decodeLabels(_:file:)``.
    ///
    /// - Throws: ``DataError`` naming `path`: `.missingFile`, or as ``decodeLabels(_:file:)``.
    package static func readLabels(path: String) throws -> [Int] {
        try decodeLabels(DataError.readFile(path), file: path)
    }
}

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
        public var imagesFile: String { self == .train ? "train-images-idx3-ubyte.gz" : "t10k-images-idx3-ubyte.gz" }
        /// The labels file's name, e.g. `train-labels-idx1-ubyte.gz`.
        public var labelsFile: String { self == .train ? "train-labels-idx1-ubyte.gz" : "t10k-labels-idx1-ubyte.gz" }
    }

    /// The mean of the training pixels scaled to [0, 1] (the usual normalisation constant).
    public static let mean = 0.1307
    /// The standard deviation of the training pixels scaled to [0, 1].
    public static let std = 0.3081
    /// The four file names, train first.
    public static let fileNames = [Split.train.imagesFile, Split.train.labelsFile, Split.test.imagesFile, Split.test.labelsFile]
    /// Where to get the files when they are missing.
    public static let downloadHint =
        "get the four files from https://yann.lecun.com/exdb/mnist/ (or a mirror such as "
        + "https://ossci-datasets.s3.amazonaws.com/mnist/) and keep them gzipped"

    /// One split as a classification dataset.
    ///
    /// - Parameters:
    ///   - directory: the folder holding the four files.
    ///   - split: `.train` or `.test`.
    ///   - normalize: `false` (default) scales pixels to [0, 1]; `true` also subtracts ``mean`` and
    ///     divides by ``std``.
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

    /// A file's bytes, gunzipped when it is gzip data.
    static func contents(_ path: String) throws -> [UInt8] {
        let data = try DataError.readFile(path)
        if path.hasSuffix(".gz") || Gzip.isGzip(data) { return try Gzip.decompress(data, file: path) }
        return [UInt8](data)
    }

    /// A big-endian 32-bit integer at `offset`.
    static func int32(_ b: [UInt8], _ offset: Int) -> Int {
        Int(UInt32(b[offset]) << 24 | UInt32(b[offset + 1]) << 16 | UInt32(b[offset + 2]) << 8 | UInt32(b[offset + 3]))
    }

    /// The pixels (row-major, one byte each) of an IDX3 images file.
    static func readImages(path: String) throws -> (count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
        let b = try contents(path)
        if b.count >= 4, int32(b, 0) != 2051 {
            let magic = int32(b, 0)
            throw DataError(.badMagic, path: path, "bad magic \(magic) at offset 0, expected 2051 (IDX3 unsigned-byte images)"
                            + (magic == 2049 ? " (is this a labels file?)" : ""))
        }
        guard b.count >= 16 else {
            throw DataError(.truncated, path: path, "\(b.count) bytes after decompression, too short for the 16-byte IDX3 header")
        }
        let n = int32(b, 4), rows = int32(b, 8), columns = int32(b, 12)
        guard rows == 28 && columns == 28 else {
            throw DataError(.badHeader, path: path, "images are \(rows)×\(columns) (offsets 8 and 12), expected 28×28")
        }
        let expected = 16 + n * rows * columns
        guard b.count == expected else {
            throw DataError(b.count < expected ? .truncated : .badHeader, path: path,
                            "header at offset 4 announces \(n) images (\(expected) bytes) but the file has \(b.count) bytes")
        }
        return (n, rows, columns, Array(b[16...]))
    }

    /// The labels of an IDX1 labels file.
    static func readLabels(path: String) throws -> [Int] {
        let b = try contents(path)
        if b.count >= 4, int32(b, 0) != 2049 {
            let magic = int32(b, 0)
            throw DataError(.badMagic, path: path, "bad magic \(magic) at offset 0, expected 2049 (IDX1 unsigned-byte labels)"
                            + (magic == 2051 ? " (is this an images file?)" : ""))
        }
        guard b.count >= 8 else {
            throw DataError(.truncated, path: path, "\(b.count) bytes after decompression, too short for the 8-byte IDX1 header")
        }
        let n = int32(b, 4)
        guard b.count == 8 + n else {
            throw DataError(b.count < 8 + n ? .truncated : .badHeader, path: path,
                            "header at offset 4 announces \(n) labels (\(8 + n) bytes) but the file has \(b.count) bytes")
        }
        var labels = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let v = Int(b[8 + i])
            guard v < 10 else { throw DataError(.badValue, path: path, "label \(v) at offset \(8 + i) is not a digit 0–9") }
            labels[i] = v
        }
        return labels
    }
}

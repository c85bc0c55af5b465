import Foundation
import Neural
import Testing

// Replays the committed corpus of hostile files (Tests/NeuralTests/HostileFiles/, made by
// Scripts/make_hostile_files.py, plus inputs the fuzzers of Scripts/fuzz.sh found under
// fuzz-findings/) and the gzip, .npy and checkpoint cases made here at run time: each must make its loader throw a typed error of the expected kind whose
// one-line message names the file — never a crash, a hang or an allocation beyond the file's size.

/// Tests/NeuralTests/HostileFiles/.
private let hostileRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("HostileFiles")

/// One row of an `expected.tsv`: a file, the error kind it must raise, a fragment of the message.
struct HostileFile: Sendable, CustomTestStringConvertible {
    /// The path below HostileFiles/, e.g. `npy/huge-dims.npy` or `fuzz-findings/npy/crash-…`.
    let path: String
    /// The expected `DataError.Kind` or `CheckpointError.Kind` raw value.
    let kind: String
    /// Text the error's description must contain.
    let fragment: String

    var testDescription: String { path }
    /// The parser the file is for: its folder, or the folder below fuzz-findings/.
    var parser: String {
        let parts = path.split(separator: "/")
        return String(parts[0] == "fuzz-findings" ? parts[1] : parts[0])
    }
    var url: URL { hostileRoot.appendingPathComponent(path) }
}

/// The rows of HostileFiles/expected.tsv and HostileFiles/fuzz-findings/expected.tsv.
private func hostileFiles() -> [HostileFile] {
    var out: [HostileFile] = []
    for (manifest, prefix) in [("expected.tsv", ""), ("fuzz-findings/expected.tsv", "fuzz-findings/")] {
        guard let text = try? String(contentsOf: hostileRoot.appendingPathComponent(manifest), encoding: .utf8) else { continue }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if f.count == 3 { out.append(HostileFile(path: prefix + f[0], kind: f[1], fragment: f[2])) }
        }
    }
    return out
}

/// Loads `file` (read from `url`) with the public file-level reader for its parser.
private func load(_ file: HostileFile, at url: URL) throws {
    let path = url.path
    switch file.parser {
    case "idx":
        if url.lastPathComponent.contains("idx1") { _ = try MNIST.readLabels(path: path) }
        else { _ = try MNIST.readImages(path: path) }
    case "csv": _ = try CSVDataset.load(path: path)
    case "npy": _ = try NPY.read(url)
    case "safetensors": _ = try SafeTensors.read(from: url)
    default: Issue.record("no loader for folder '\(file.parser)' of \(file.path)")
    }
}

/// An IDX header (big-endian magic and dimensions) followed by `payload`.
private func idx(_ magic: UInt32, _ dims: [UInt32], _ payload: [UInt8] = []) -> [UInt8] {
    ([magic] + dims).flatMap { withUnsafeBytes(of: $0.bigEndian, Array.init) } + payload
}

/// A `.npy` file: magic, version, header length (2 bytes little-endian in version 1, else 4; `length`
/// overrides the true one), the header and `body`.
private func npy(_ header: [UInt8], _ body: [UInt8] = [], version: UInt8 = 1, length: Int? = nil) -> [UInt8] {
    let n = length ?? header.count
    let size = version == 1 ? withUnsafeBytes(of: UInt16(n).littleEndian, Array.init)
                            : withUnsafeBytes(of: UInt32(n).littleEndian, Array.init)
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + size + header + body
}

/// A `.npy` header dictionary.
private func npyHeader(descr: String = "<f4", shape: String = "(2,)", fortran: String = "False") -> [UInt8] {
    Array("{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }\n".utf8)
}

struct HostileFileTests {
    @Test func theCorpusCoversEveryParserAndListsEveryFile() throws {
        let listed = Set(hostileFiles().map(\.path))
        #expect(listed.count + Self.gzipCases.count + Self.npyCases.count >= 77, "only \(listed.count) hostile files listed")
        let parsers = Set(hostileFiles().map(\.parser)).union(Self.npyCases.isEmpty ? [] : ["npy"])
        #expect(parsers.isSuperset(of: ["idx", "csv", "npy", "safetensors"]))
        // Every file on disk is replayed (a fuzz finding copied in without a manifest row would not be).
        let enumerator = FileManager.default.enumerator(at: hostileRoot, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let relative = String(url.standardizedFileURL.path.dropFirst(hostileRoot.standardizedFileURL.path.count + 1))
            if relative.hasSuffix("expected.tsv") { continue }
            #expect(listed.contains(relative), "\(relative) is not listed in an expected.tsv")
        }
    }

    @Test(arguments: hostileFiles())
    func hostileFileThrowsATypedErrorNamingTheFile(_ file: HostileFile) {
        expectTypedError(file, at: file.url)
    }

    /// The gzip cases, made at run time rather than committed (in git, files that start like gzip
    /// members look like datasets): bombs of 16 MiB of zeros behind a one-image (or one-label)
    /// header, which must be cut off at the size the header announces; a good stream with a broken
    /// CRC, cut in half or after 12 bytes, with a trailer announcing 4 GiB, or with garbage after its
    /// header; a plain IDX file named .gz; and valid streams around bad IDX headers.
    static let gzipCases: [(name: String, kind: String, fragment: String)] = [
        ("bomb-images-idx3-ubyte.gz", "badHeader", "more than 800 bytes after decompression"),
        ("bomb-labels-idx1-ubyte.gz", "badHeader", "more than 9 bytes"),
        ("bad-crc-images-idx3-ubyte.gz", "corruptCompression", "corrupt gzip data"),
        ("truncated-images-idx3-ubyte.gz", "truncated", "truncated gzip stream"),
        ("lying-size-images-idx3-ubyte.gz", "corruptCompression", "corrupt gzip data"),
        ("garbage-deflate-images-idx3-ubyte.gz", "corruptCompression", "corrupt gzip data"),
        ("not-gzip-images-idx3-ubyte.gz", "corruptCompression", "not gzip data"),
        ("short-gzip-labels-idx1-ubyte.gz", "truncated", "truncated gzip stream"),
        ("huge-count-images-idx3-ubyte.gz", "truncated", "announces 4294967295 images"),
        ("gzip-header-only-labels-idx1-ubyte.gz", "truncated", "too short for the 8-byte IDX1 header"),
    ]

    @Test(arguments: gzipCases.map(\.name))
    func hostileGzipThrowsATypedErrorNamingTheFile(_ name: String) throws {
        let (_, kind, fragment) = Self.gzipCases.first { $0.name == name }!
        let image = idx(2051, [1, 28, 28], [UInt8](repeating: 0, count: 784))
        let good = Gzip.compress(image)
        let bytes: [UInt8]
        switch name {
        case "bomb-images-idx3-ubyte.gz": bytes = Gzip.compress(image + [UInt8](repeating: 0, count: 16 << 20))
        case "bomb-labels-idx1-ubyte.gz": bytes = Gzip.compress(idx(2049, [1], [1]) + [UInt8](repeating: 0, count: 16 << 20))
        case "bad-crc-images-idx3-ubyte.gz":
            // The CRC-32 is the trailer's first 4 bytes (then the length): flip its bits.
            var broken = good
            for i in (good.count - 8)..<(good.count - 4) { broken[i] ^= 0xFF }
            bytes = broken
        case "truncated-images-idx3-ubyte.gz": bytes = Array(good[..<(good.count / 2)])
        case "lying-size-images-idx3-ubyte.gz": bytes = good.dropLast(4) + [0xFF, 0xFF, 0xFF, 0xFF]
        case "garbage-deflate-images-idx3-ubyte.gz":
            bytes = Array(good[..<10]) + (0..<4).flatMap { _ in (0...255).map { UInt8($0) } }
        case "not-gzip-images-idx3-ubyte.gz": bytes = image
        case "short-gzip-labels-idx1-ubyte.gz": bytes = Array(good[..<12])
        case "huge-count-images-idx3-ubyte.gz":
            bytes = Gzip.compress(idx(2051, [0xFFFF_FFFF, 28, 28], [UInt8](repeating: 0, count: 784)))
        default: bytes = Gzip.compress([0, 0, 8])  // gzip-header-only-labels: 3 bytes of an IDX1 header
        }
        try expectTypedError(HostileFile(path: "idx/\(name)", kind: kind, fragment: fragment), bytes: bytes)
    }

    /// The `.npy` cases, made at run time rather than committed (in git, `.npy` files look like
    /// datasets): a bad or short signature, headers longer than the file (versions 1 and 2), an
    /// unknown version, shapes too large or not tuples of naturals, missing keys, too few or too
    /// many data bytes, and unsupported layouts and dtypes.
    static let npyCases: [(name: String, kind: String, fragment: String, bytes: [UInt8])] = [
        ("bad-magic.npy", "badMagic", "missing the \\x93NUMPY signature",
         [0x93] + Array("NUMPX".utf8) + [1, 0] + [UInt8](repeating: 0, count: 16)),
        ("short.npy", "badMagic", "not a NumPy .npy file", [0x93] + Array("NUMPY".utf8) + [1]),
        ("header-past-end.npy", "truncated", "ends inside the 60000-byte header", npy(npyHeader(), length: 60000)),
        ("v2-header-past-end.npy", "truncated", "ends inside the 4294967295-byte header",
         npy(npyHeader(), version: 2, length: 0xFFFF_FFFF)),
        ("unknown-version.npy", "unsupported", "version 9.0", npy(npyHeader(), version: 9)),
        ("huge-dims.npy", "badHeader", "too large for any file",
         npy(npyHeader(shape: "(1099511627776, 1099511627776)"), [UInt8](repeating: 0, count: 8))),
        ("huge-dims-no-elements.npy", "badHeader", "too large for any file",
         npy(npyHeader(shape: "(0, 1099511627776, 1099511627776)"))),
        ("dims-beyond-int64.npy", "badHeader", "'shape' is not a tuple", npy(npyHeader(shape: "(99999999999999999999,)"))),
        ("negative-dim.npy", "badHeader", "'shape' is not a tuple", npy(npyHeader(shape: "(-1,)"))),
        ("no-shape.npy", "badHeader", "'shape'", npy(Array("{'descr': '<f4', 'fortran_order': False}\n".utf8))),
        ("no-descr.npy", "badHeader", "no 'descr'",
         npy(Array("{'fortran_order': False, 'shape': (1,)}\n".utf8), [UInt8](repeating: 0, count: 4))),
        ("data-too-short.npy", "truncated", "needs 24 data bytes",
         npy(npyHeader(shape: "(2, 3)"), [UInt8](repeating: 0, count: 20))),
        ("data-too-long.npy", "badHeader", "needs 8 data bytes", npy(npyHeader(), [UInt8](repeating: 0, count: 12))),
        ("fortran-order.npy", "unsupported", "fortran_order is True",
         npy(npyHeader(fortran: "True"), [UInt8](repeating: 0, count: 8))),
        ("object-dtype.npy", "unsupported", "dtype '|O'", npy(npyHeader(descr: "|O"), [UInt8](repeating: 0, count: 16))),
        ("big-endian.npy", "unsupported", "dtype '>f4'", npy(npyHeader(descr: ">f4"), [UInt8](repeating: 0, count: 8))),
        ("non-utf8-header.npy", "unsupported", "is not supported",
         npy(Array("{'descr': '".utf8) + [0xFF, 0xFE] + Array("', 'fortran_order': False, 'shape': (2,), }\n".utf8),
             [UInt8](repeating: 0, count: 8))),
    ]

    @Test(arguments: npyCases.map(\.name))
    func hostileNPYThrowsATypedErrorNamingTheFile(_ name: String) throws {
        let (_, kind, fragment, bytes) = Self.npyCases.first { $0.name == name }!
        try expectTypedError(HostileFile(path: "npy/\(name)", kind: kind, fragment: fragment), bytes: bytes)
    }

    /// Writes `bytes` under `file`'s name into a fresh temporary folder and expects its loader to
    /// throw as ``expectTypedError(_:at:)`` says.
    private func expectTypedError(_ file: HostileFile, bytes: [UInt8]) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(file.parser)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(file.url.lastPathComponent)
        try Data(bytes).write(to: url)
        expectTypedError(file, at: url)
    }

    /// Loading `url` (the bytes of `file`) throws a typed error of the expected kind naming the file.
    private func expectTypedError(_ file: HostileFile, at url: URL) {
        do {
            try load(file, at: url)
            Issue.record("\(file.path) loaded without an error")
        } catch let error as DataError {
            #expect(error.kind.rawValue == file.kind, "\(error)")
            #expect(error.path == url.path)
            check(error.description, name: url.lastPathComponent, file)
        } catch let error as CheckpointError {
            #expect(error.kind.rawValue == file.kind, "\(error)")
            #expect(error.file == url.path)
            check(error.description, name: url.lastPathComponent, file)
        } catch {
            Issue.record("\(file.path): untyped error \(error)")
        }
    }

    /// Checkpoints with bad `neural.*` metadata: valid safetensors holding a weight tensor, so they
    /// are written here at run time rather than committed. (name, `__metadata__`, extra tensor, fragment)
    static let checkpointCases: [(String, [String: String], String?, String)] = [
        ("bad-epoch", ["neural.epoch": "-1"], nil, "neural.epoch"),
        ("optimizer-not-json", ["neural.optimizer": "{not json"], nil, "neural.optimizer"),
        ("optimizer-counts-disagree", ["neural.optimizer": #"{"step":1,"parameter_steps":[1,1],"slots":[1]}"#], nil, "neural.optimizer"),
        ("optimizer-slot-missing", ["neural.optimizer": #"{"step":1,"parameter_steps":[1],"slots":[2]}"#], nil, "__optimizer__.0.0"),
        ("optimizer-huge-slot-count", ["neural.optimizer": #"{"step":1,"parameter_steps":[1],"slots":[4611686018427387904]}"#], nil, "__optimizer__.0.0"),
        ("orphan-optimizer-tensor", [:], "__optimizer__.0.0", "reserved prefix"),
        ("generator-not-hex", ["neural.generator": "1,2,3,zz"], nil, "neural.generator"),
        ("generator-all-zero", ["neural.generator.dropout": "0,0,0,0"], nil, "neural.generator.dropout"),
        ("sampler-not-a-permutation", ["neural.sampler": #"{"epoch":0,"position":0,"permutation":[0,0,2]}"#], nil, "neural.sampler"),
        ("sampler-position-past-end", ["neural.sampler": #"{"epoch":0,"position":4,"permutation":[1,0,2]}"#], nil, "neural.sampler"),
    ]

    @Test(arguments: checkpointCases.map(\.0))
    func hostileCheckpointThrowsATypedErrorNamingTheFile(_ name: String) throws {
        let (_, metadata, extra, fragment) = Self.checkpointCases.first { $0.0 == name }!
        // Raw safetensors bytes: u64 header length, JSON header, then two Float32 values.
        var header: [String: Any] = ["__metadata__": metadata]
        header[extra ?? "0.weight"] = ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]]
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var bytes = Data(withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) })
        bytes += json
        bytes += [Float(1), Float(2)].withUnsafeBytes { Data($0) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(name)-\(UUID().uuidString).safetensors")
        try bytes.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = HostileFile(path: "checkpoint/\(name).safetensors", kind: "malformedMetadata", fragment: fragment)
        do {
            _ = try Checkpoint.load(from: url)
            Issue.record("\(name) loaded without an error")
        } catch {
            // Checkpoint.load throws CheckpointError (typed throws).
            #expect(error.kind.rawValue == file.kind, "\(error)")
            #expect(error.file == url.path)
            check(error.description, name: url.lastPathComponent, file)
        }
    }

    private func check(_ message: String, name: String, _ file: HostileFile) {
        #expect(message.contains(name), "'\(message)' does not name the file")
        #expect(message.contains(file.fragment), "'\(message)' should mention '\(file.fragment)'")
        #expect(!message.contains("\n"), "'\(message)' is not one line")
        #expect(message.count < 1000, "'\(message.prefix(200))…' is \(message.count) characters long")
    }
}

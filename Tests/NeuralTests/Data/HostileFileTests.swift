import Foundation
import Neural
import Testing

// Hostile files for every reader, made here at run time (in git, malformed IDX, CSV, .npy and
// safetensors files look like datasets and weights), plus inputs the fuzzers of Scripts/fuzz.sh
// found, committed under Tests/NeuralTests/HostileFiles/fuzz-findings/ with an expected.tsv: each
// must make its loader throw a typed error of the expected kind whose one-line message names the
// file — never a crash, a hang or an allocation beyond the file's size.

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

/// The rows of HostileFiles/fuzz-findings/expected.tsv (none until a fuzz finding is committed).
private func hostileFiles() -> [HostileFile] {
    guard let text = try? String(contentsOf: hostileRoot.appendingPathComponent("fuzz-findings/expected.tsv"),
                                 encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { line in
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        return line.hasPrefix("#") || f.count != 3 ? nil : HostileFile(path: "fuzz-findings/" + f[0], kind: f[1], fragment: f[2])
    }
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

/// A safetensors file: the header length (8 bytes little-endian; `length` overrides the true one),
/// the header and `body`.
private func safetensors(_ header: [UInt8], _ body: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian, Array.init) + header + body
}

/// ``safetensors(_:_:length:)`` with a UTF-8 header.
private func safetensors(_ header: String, _ body: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    safetensors(Array(header.utf8), body, length: length)
}

/// One tensor's header entry.
private func entry(_ dtype: String = "F32", shape: [Int] = [2], offsets: [Int] = [0, 8]) -> String {
    #"{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#.replacingOccurrences(of: " ", with: "")
}

/// The Float32 values 1 and 2, little-endian.
private let twoFloats: [UInt8] = [Float(1), Float(2)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }

struct HostileFileTests {
    @Test func theCorpusCoversEveryParserAndListsEveryFile() throws {
        let listed = Set(hostileFiles().map(\.path))
        #expect(listed.count + Self.gzipCases.count + Self.madeCases.count >= 77, "only \(listed.count) hostile files listed")
        let parsers = Set(hostileFiles().map(\.parser)).union(Self.madeCases.map { HostileFile(path: $0.path, kind: "", fragment: "").parser })
        #expect(parsers.isSuperset(of: ["idx", "csv", "npy", "safetensors"]))
        // Every committed file is replayed (a fuzz finding copied in without a manifest row would not be).
        guard let enumerator = FileManager.default.enumerator(at: hostileRoot, includingPropertiesForKeys: [.isRegularFileKey]) else { return }
        for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let relative = String(url.standardizedFileURL.path.dropFirst(hostileRoot.standardizedFileURL.path.count + 1))
            if relative.hasSuffix("expected.tsv") || relative == "README.md" { continue }
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

    /// The MNIST IDX cases: empty, a short header, images and labels swapped, counts and sizes larger
    /// than the file, trailing bytes and a label that is not a digit.
    static let idxCases: [(name: String, kind: String, fragment: String, bytes: [UInt8])] = {
        let image = idx(2051, [1, 28, 28], [UInt8](repeating: 0, count: 784))
        return [
            ("empty-images-idx3-ubyte", "truncated", "too short for the 16-byte IDX3 header", []),
            ("short-header-images-idx3-ubyte", "truncated", "too short", Array(image[..<10])),
            ("labels-as-images-idx3-ubyte", "badMagic", "expected 2051", idx(2049, [3], [1, 2, 3])),
            ("images-as-labels-idx1-ubyte", "badMagic", "expected 2049", image),
            ("huge-count-images-idx3-ubyte", "truncated", "announces 4294967295 images",
             idx(2051, [0xFFFF_FFFF, 28, 28], [UInt8](repeating: 0, count: 784))),
            ("huge-dims-images-idx3-ubyte", "badHeader", "expected 28×28",
             idx(2051, [1, 0xFFFF_FFFF, 0xFFFF_FFFF], [UInt8](repeating: 0, count: 64))),
            ("trailing-bytes-images-idx3-ubyte", "badHeader", "announces 1 images", image + Array("extra".utf8)),
            ("huge-count-labels-idx1-ubyte", "truncated", "announces 4294967295 labels", idx(2049, [0xFFFF_FFFF], [1])),
            ("not-a-digit-labels-idx1-ubyte", "badValue", "label 200 at offset 9", idx(2049, [2], [1, 200])),
        ]
    }()

    /// The CSV cases (`CSVDataset.load`, the last column the target), among them 4,500 distinct ids
    /// one-hot encoded: a [4500, 4501] matrix from a ~60 KB file.
    static let csvCases: [(name: String, kind: String, fragment: String, bytes: [UInt8])] = [
        ("not-utf8.csv", "badValue", "is not UTF-8 text (invalid byte 0xff at offset 6)", Array("a,b\n1,".utf8) + [0xFF, 0xFE, 0x0A]),
        ("empty.csv", "badHeader", "is empty", []),
        ("header-only.csv", "badHeader", "no data rows", Array("a,b,c\n".utf8)),
        ("unclosed-quote.csv", "badValue", "never closed", Array("a,b\n1,\"2\n3,4\n".utf8)),
        ("ragged-row.csv", "badHeader", "has 2 fields but the header has 3", Array("a,b,c\n1,2,3\n4,5\n".utf8)),
        ("text-in-numeric-column.csv", "badValue", "'x' is not a number", Array("a,b,y\n1,2,3\n4,5,6\n7,x,9\n".utf8)),
        ("nan-cell.csv", "badValue", "'nan' is not a finite number", Array("a,b,y\n1,2,3\n4,nan,6\n".utf8)),
        ("infinite-target.csv", "badValue", "'1e999' is not a finite number", Array("a,y\n1,2\n2,1e999\n".utf8)),
        ("blank-target.csv", "badValue", "the target is blank", Array("a,y\n1,2\n2,\n".utf8)),
        ("blank-column.csv", "badValue", "column b is blank in every row", Array("a,b,y\n1,,3\n4,,6\n".utf8)),
        ("only-target-column.csv", "badHeader", "no feature columns", Array("y\n1\n2\n".utf8)),
        ("one-hot-blowup.csv", "unsupported", "column id has 4500 distinct values",
         Array(("id,x,y\n" + (0..<4500).map { "id\(String(format: "%05d", $0)),\($0 % 7),\($0 % 3)\n" }.joined()).utf8)),
    ]

    /// The safetensors cases (`SafeTensors.read`): header lengths past the end or over the limit,
    /// headers that are not UTF-8, not JSON, not an object or nested 20,000 deep; offsets out of
    /// range, reversed, negative, of three numbers or overlapping (1,000 tensors claiming the same
    /// 64 KiB: a reader that allocated before checking would need 64 MB for a 130 KB file); byte
    /// counts that disagree with dtype and shape, unknown dtypes, huge, fractional or negative
    /// dimensions, duplicate keys (also through an escape), bad metadata and missing offsets.
    static let safetensorsCases: [(name: String, kind: String, fragment: String, bytes: [UInt8])] = [
        ("too-short.safetensors", "truncated", "less than the 8-byte header length", [8, 0, 0]),
        ("header-past-end.safetensors", "headerLength", "reaches past the end", safetensors("{}", length: 4096)),
        ("header-length-huge.safetensors", "headerLength", "exceeds the 100000000-byte limit", safetensors("{}", length: 1 << 63)),
        ("non-utf8-header.safetensors", "malformedHeader", "not valid UTF-8",
         safetensors(Array(#"{"w":\#(entry()),""#.utf8) + [0xFF, 0xFE] + Array(#"":1}"#.utf8), twoFloats)),
        ("not-json.safetensors", "malformedHeader", "not valid JSON", safetensors(#"{"w": {"dtype": "F32","#, twoFloats)),
        ("top-level-array.safetensors", "malformedHeader", "header", safetensors("[1, 2]")),
        ("deeply-nested.safetensors", "malformedHeader", "header",
         safetensors(#"{"__metadata__":"# + String(repeating: "[", count: 20000) + String(repeating: "]", count: 20000) + "}")),
        ("offsets-out-of-range.safetensors", "offsets", "out of range", safetensors(#"{"w":\#(entry())}"#, Array(twoFloats[..<4]))),
        ("offsets-huge.safetensors", "offsets", "out of range",
         safetensors(#"{"w":\#(entry(offsets: [1 << 61, (1 << 61) + 8]))}"#, twoFloats)),
        ("offsets-reversed.safetensors", "offsets", "[8, 0]", safetensors(#"{"w":\#(entry(shape: [0], offsets: [8, 0]))}"#, twoFloats)),
        ("offsets-negative.safetensors", "offsets", "[-8, -8]",
         safetensors(#"{"w":\#(entry(shape: [0], offsets: [-8, -8]))}"#, twoFloats)),
        ("offsets-three.safetensors", "malformedHeader", "must be [begin, end]",
         safetensors(#"{"w":\#(entry(offsets: [0, 4, 8]))}"#, twoFloats)),
        ("overlapping.safetensors", "offsets", "overlap",
         safetensors(#"{"a":\#(entry()),"b":\#(entry(offsets: [4, 12]))}"#, twoFloats + twoFloats)),
        ("all-share-one-buffer.safetensors", "offsets", "overlap",
         safetensors("{" + (0..<1000).map { #""t\#(String(format: "%04d", $0))":\#(entry(shape: [16384], offsets: [0, 65536]))"# }
            .joined(separator: ",") + "}", [UInt8](repeating: 0, count: 65536))),
        ("dtype-shape-mismatch.safetensors", "sizeMismatch", "needs 16 bytes", safetensors(#"{"w":\#(entry("F64"))}"#, twoFloats)),
        ("shape-too-small.safetensors", "sizeMismatch", "needs 4 bytes", safetensors(#"{"w":\#(entry(shape: [1]))}"#, twoFloats)),
        ("unknown-dtype.safetensors", "unknownDType", "C64", safetensors(#"{"w":\#(entry("C64"))}"#, twoFloats)),
        ("huge-dims.safetensors", "sizeMismatch", "too large for any file",
         safetensors(#"{"w":\#(entry(shape: [1 << 31, 1 << 31, 1 << 31]))}"#, twoFloats)),
        ("huge-dims-no-elements.safetensors", "sizeMismatch", "too large for any file",
         safetensors(#"{"w":\#(entry(shape: [0, 1 << 40, 1 << 40], offsets: [0, 0]))}"#)),
        ("dims-beyond-int64.safetensors", "malformedHeader", "must hold integers",
         safetensors(#"{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}}"#, twoFloats)),
        ("negative-dim.safetensors", "malformedHeader", "negative", safetensors(#"{"w":\#(entry(shape: [-2]))}"#, twoFloats)),
        ("fractional-dim.safetensors", "malformedHeader", "must hold integers",
         safetensors(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, twoFloats)),
        ("duplicate-tensor.safetensors", "malformedHeader", #"holds the key "w" twice"#,
         safetensors(#"{"w":\#(entry()),"w":\#(entry(shape: [1], offsets: [0, 4]))}"#, twoFloats)),
        ("duplicate-escaped-tensor.safetensors", "malformedHeader", #"holds the key "w" twice"#,
         safetensors(#"{"w":\#(entry()),"\u0077":\#(entry(shape: [1], offsets: [0, 4]))}"#, twoFloats)),
        ("duplicate-field.safetensors", "malformedHeader", #"tensor 'w': holds the key "dtype" twice"#,
         safetensors(#"{"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, twoFloats)),
        ("duplicate-metadata.safetensors", "malformedHeader", "__metadata__", safetensors(#"{"__metadata__":{"k":"a","k":"b"}}"#)),
        ("metadata-not-strings.safetensors", "malformedHeader", "__metadata__", safetensors(#"{"__metadata__":{"k":3}}"#)),
        ("missing-offsets.safetensors", "malformedHeader", "data_offsets",
         safetensors(#"{"w":{"dtype":"F32","shape":[2]}}"#, twoFloats)),
        ("empty-header.safetensors", "malformedHeader", "not valid JSON", safetensors("")),
    ]

    /// Every case made at run time except the gzip ones, as `folder/name` (the folder picks the loader).
    static let madeCases: [(path: String, kind: String, fragment: String, bytes: [UInt8])] =
        [("idx", idxCases), ("csv", csvCases), ("npy", npyCases), ("safetensors", safetensorsCases)].flatMap { folder, cases in
            cases.map { (path: "\(folder)/\($0.name)", kind: $0.kind, fragment: $0.fragment, bytes: $0.bytes) }
        }

    @Test(arguments: madeCases.map(\.path))
    func hostileFileMadeAtRunTimeThrowsATypedErrorNamingTheFile(_ path: String) throws {
        let (_, kind, fragment, bytes) = Self.madeCases.first { $0.path == path }!
        try expectTypedError(HostileFile(path: path, kind: kind, fragment: fragment), bytes: bytes)
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
        ("optimizer-negative-step", ["neural.optimizer": #"{"step":1,"parameters":[{"step":-1,"tensors":[]}]}"#], nil, "neural.optimizer"),
        ("optimizer-repeated-name", ["neural.optimizer": #"{"step":1,"parameters":[{"step":1,"tensors":["exp_avg","exp_avg"]}]}"#], nil, "neural.optimizer"),
        ("optimizer-tensor-missing", ["neural.optimizer": #"{"step":1,"parameters":[{"step":1,"tensors":["exp_avg"]}]}"#], nil, "__optimizer__.0.exp_avg"),
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

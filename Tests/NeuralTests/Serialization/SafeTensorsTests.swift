import Foundation
import Neural
import Testing

/// A fresh, empty directory under the system's temporary directory.
func serializationTemporaryDirectory(_ label: String) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("neural-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The bytes of a safetensors file with the given JSON header (unpadded) and data buffer.
func rawSafeTensors(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
    var out = Data()
    withUnsafeBytes(of: (headerLength ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

/// Little-endian bytes of `values`.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

@Suite("SafeTensors")
struct SafeTensorsTests {
    @Test func writeReadRoundTripIsBitExactForFloat32AndFloat64() throws {
        let dir = serializationTemporaryDirectory("st-roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let special: [Float] = [0, -0.0, 1, -1.5, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                Float(bitPattern: 0x7FC0_1234), 3.1415927, 1e-30, -7e20]
        let tensors: [String: Tensor] = [
            "a.weight": Tensor(special, shape: [3, 4]),
            "b": Tensor.randn([2, 3, 5], dtype: .float64, generator: RandomGenerator(seed: 1)),
            "c.scalar": Tensor(2.5, dtype: .float64),
            "d.empty": Tensor.zeros([0, 3]),
            "e": Tensor.uniform([7], generator: RandomGenerator(seed: 2)),
        ]
        let url = dir.appendingPathComponent("t.safetensors")
        try SafeTensors(tensors: tensors, metadata: ["note": "héllo \"quoted\"\n\\", "empty": ""]).write(to: url)
        let back = try SafeTensors.read(from: url)
        #expect(Set(back.tensors.keys) == Set(tensors.keys))
        for (name, t) in tensors { expectBitIdentical(back.tensors[name]!, t) }
        #expect(back.metadata == ["note": "héllo \"quoted\"\n\\", "empty": ""])
        #expect(back.storedDTypes == ["a.weight": "F32", "b": "F64", "c.scalar": "F64", "d.empty": "F32", "e": "F32"])
    }

    @Test func headerLayoutIsAlignedSortedAndContiguous() throws {
        let file = SafeTensors(tensors: ["z": Tensor.ones([3]), "a": Tensor.ones([2, 2], dtype: .float64),
                                         "m.x": Tensor.zeros([5])],
                               metadata: ["k": "v"])
        let data = try file.encoded()
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + n) % 8 == 0)
        let header = String(decoding: data[8..<(8 + n)], as: UTF8.self)
        let trimmed = header.replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        #expect(header.count - trimmed.count < 8)
        // __metadata__ first, then the tensors in name order, their data back to back in that order.
        let positions = ["\"__metadata__\"", "\"a\"", "\"m.x\"", "\"z\""].map { header.range(of: $0)!.lowerBound }
        #expect(positions == positions.sorted())
        let json = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as! [String: Any]
        func offsets(_ name: String) -> [Int] { (json[name] as! [String: Any])["data_offsets"] as! [Int] }
        #expect(offsets("a") == [0, 32])
        #expect(offsets("m.x") == [32, 52])
        #expect(offsets("z") == [52, 64])
        #expect((json["a"] as! [String: Any])["dtype"] as? String == "F64")
        #expect((json["a"] as! [String: Any])["shape"] as? [Int] == [2, 2])
        #expect(json["__metadata__"] as? [String: String] == ["k": "v"])
        #expect(data.count == 8 + n + 64)
    }

    @Test func batchCountsAreStoredAsInt64AndReadBack() throws {
        let file = SafeTensors(tensors: ["1.num_batches_tracked": Tensor(7), "1.running_mean": Tensor.zeros([2])])
        let data = try file.encoded()
        let back = try SafeTensors.decode(data)
        #expect(back.storedDTypes["1.num_batches_tracked"] == "I64")
        #expect(back.tensors["1.num_batches_tracked"]!.item() == 7)
        #expect(back.tensors["1.num_batches_tracked"]!.shape == [])
        #expect(String(decoding: data, as: UTF8.self).contains("\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]"))
        // A count that is not a whole number cannot be an I64.
        let bad = SafeTensors(tensors: ["num_batches_tracked": Tensor(1.5)])
        #expect(throws: CheckpointError.self) { try bad.encoded() }
    }

    @Test func readsHalfBrainFloatAndIntegerTypes() throws {
        let header = """
        {"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},\
        "i":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},"l":{"dtype":"I64","shape":[1],"data_offsets":[20,28]},\
        "u":{"dtype":"U8","shape":[2],"data_offsets":[28,30]},"t":{"dtype":"BOOL","shape":[2],"data_offsets":[30,32]}}
        """
        let data = littleEndianBytes([UInt16(0x3C00), 0xC000, 0x0001, 0x7C00])          // 1, -2, 2^-24, +inf
            + littleEndianBytes([UInt16(0x3F80), 0xC040])                                  // 1, -3
            + littleEndianBytes([Int32(-5), 123_456])
            + littleEndianBytes([Int64(1) << 40])
            + [200, 0] + [1, 0]
        let file = try SafeTensors.decode(rawSafeTensors(header: header, data: data), file: "mixed.safetensors")
        #expect(file.tensors["h"]!.scalars(as: Float.self) == [1, -2, 0x1p-24, .infinity])
        #expect(file.tensors["h"]!.dtype == .float32)
        #expect(file.tensors["b"]!.scalars(as: Float.self) == [1, -3])
        #expect(file.tensors["i"]!.scalars(as: Double.self) == [-5, 123_456])
        #expect(file.tensors["l"]!.scalars(as: Double.self) == [0x1p40])
        #expect(file.tensors["u"]!.scalars(as: Double.self) == [200, 0])
        #expect(file.tensors["t"]!.scalars(as: Double.self) == [1, 0])
        #expect(file.storedDTypes["i"] == "I32")
        #expect(file.tensors["i"]!.dtype == .int32 && file.tensors["l"]!.dtype == .int64)
        #expect(file.tensors["l"]!.scalars(as: Int64.self) == [1 << 40])
    }

    // MARK: Atomic writes

    private func directoryListing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    @Test func atomicWriteReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let dir = serializationTemporaryDirectory("st-atomic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try SafeTensors(tensors: ["w": Tensor.ones([4])]).write(to: url)
        try SafeTensors(tensors: ["w": Tensor.zeros([8])]).write(to: url)
        #expect(directoryListing(dir) == ["ckpt.safetensors"])
        #expect(try SafeTensors.read(from: url).tensors["w"]!.shape == [8])
    }

    @Test func failedWriteLeavesTheOriginalFileIntactAndNoTemporaryFile() throws {
        let dir = serializationTemporaryDirectory("st-atomic-fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try SafeTensors(tensors: ["w": Tensor.ones([4])]).write(to: url)
        let original = try Data(contentsOf: url)

        // Encoding fails (a count that is not an integer): the destination is never touched.
        let bad = SafeTensors(tensors: ["w": Tensor.zeros([4]), "num_batches_tracked": Tensor(Double.nan)])
        let e1 = #expect(throws: CheckpointError.self) { try bad.write(to: url) }
        #expect(e1?.kind == .invalidTensor)
        #expect(e1?.description.contains(url.path) == true)
        #expect(try Data(contentsOf: url) == original)

        // The rename fails after the temporary file was written and synced (the destination is a
        // non-empty directory): the temporary file is removed, the directory left as it was.
        let blocker = dir.appendingPathComponent("blocked.safetensors")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: blocker.appendingPathComponent("keep"))
        let e2 = #expect(throws: CheckpointError.self) { try SafeTensors(tensors: ["w": Tensor.ones([4])]).write(to: blocker) }
        #expect(e2?.kind == .io)
        #expect(e2?.description.contains(blocker.path) == true)
        #expect(directoryListing(blocker) == ["keep"])

        // The directory does not exist: nothing is created.
        let nowhere = dir.appendingPathComponent("missing/ckpt.safetensors")
        let e3 = #expect(throws: CheckpointError.self) { try SafeTensors(tensors: ["w": Tensor.ones([4])]).write(to: nowhere) }
        #expect(e3?.kind == .io)
        #expect(e3?.description.contains("missing/ckpt.safetensors") == true)

        #expect(directoryListing(dir) == ["blocked.safetensors", "ckpt.safetensors"])
        #expect(try Data(contentsOf: url) == original)
    }

    // Root ignores directory permissions, so this case only runs for other users; the test above
    // covers failures after the temporary file exists for everyone.
    @Test(.enabled(if: getuid() != 0, "running as root: a read-only directory does not stop root's writes"))
    func writeIntoReadOnlyDirectoryFailsAndKeepsTheOriginal() throws {
        let dir = serializationTemporaryDirectory("st-readonly")
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
            try? FileManager.default.removeItem(at: dir)
        }
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try SafeTensors(tensors: ["w": Tensor.ones([4])]).write(to: url)
        let original = try Data(contentsOf: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        let e = #expect(throws: CheckpointError.self) { try SafeTensors(tensors: ["w": Tensor.zeros([9])]).write(to: url) }
        #expect(e?.kind == .io)
        #expect(try Data(contentsOf: url) == original)
        #expect(directoryListing(dir) == ["ckpt.safetensors"])
    }

    // MARK: Malformed files

    /// Writes `data` to a file and expects reading it to throw a ``CheckpointError`` of `kind`
    /// whose message names the file and contains `mentions`.
    private func expectReadFails(_ data: Data, _ kind: CheckpointError.Kind, mentions: [String] = [],
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let dir = serializationTemporaryDirectory("st-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.safetensors")
        try! data.write(to: url)
        let error = #expect(throws: CheckpointError.self, sourceLocation: sourceLocation) { try SafeTensors.read(from: url) }
        #expect(error?.kind == kind, "\(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error?.file == url.path, sourceLocation: sourceLocation)
        let text = error?.description ?? ""
        #expect(text.hasPrefix(url.path + ": "), "\(text)", sourceLocation: sourceLocation)
        for m in mentions { #expect(text.contains(m), "\(text) should mention \(m)", sourceLocation: sourceLocation) }
        print("malformed \(kind):", text)
    }

    @Test func everyMalformedFileThrowsACheckpointErrorNamingTheFile() throws {
        let good = try SafeTensors(tensors: ["w": Tensor.ones([2, 3]), "b": Tensor.ones([3])]).encoded()
        let one = littleEndianBytes([Float(1).bitPattern])
        // Truncated: fewer than 8 bytes; the data cut short.
        expectReadFails(good.prefix(5), .truncated, mentions: ["truncated"])
        expectReadFails(good.prefix(good.count - 4), .offsets, mentions: ["tensor 'w'", "out of range", "truncated"])
        // Header length beyond the file, or absurd.
        expectReadFails(rawSafeTensors(header: "{}", headerLength: 1000), .headerLength, mentions: ["1000"])
        expectReadFails(rawSafeTensors(header: "{}", headerLength: 1 << 62), .headerLength)
        // Not JSON, not UTF-8, wrong structure.
        expectReadFails(rawSafeTensors(header: "{\"w\": [1, 2"), .malformedHeader, mentions: ["JSON"])
        expectReadFails(rawSafeTensors(header: "", headerLength: 1) + Data([0xFF]), .malformedHeader, mentions: ["UTF-8"])
        expectReadFails(rawSafeTensors(header: "[1, 2]"), .malformedHeader)
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: one), .malformedHeader,
                        mentions: ["tensor 'w'", "data_offsets"])
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: one),
                        .malformedHeader, mentions: ["tensor 'w'"])
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: one),
                        .malformedHeader, mentions: ["tensor 'w'", "negative"])
        expectReadFails(rawSafeTensors(header: #"{"__metadata__":{"k":3}}"#), .malformedHeader, mentions: ["__metadata__"])
        // Offsets out of range, reversed, overlapping.
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: one),
                        .offsets, mentions: ["tensor 'w'", "[0, 8]"])
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: one),
                        .offsets, mentions: ["tensor 'w'"])
        expectReadFails(rawSafeTensors(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                                       data: one + one + one),
                        .offsets, mentions: ["tensor 'b'", "overlap", "tensor 'a'"])
        // Shape × dtype size ≠ byte range.
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}"#, data: one),
                        .sizeMismatch, mentions: ["tensor 'w'", "8 bytes", "hold 4"])
        // Unknown dtype.
        expectReadFails(rawSafeTensors(header: #"{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#, data: one + one),
                        .unknownDType, mentions: ["tensor 'w'", "C64", "F32"])
    }

    @Test func missingFileAndDirectoryThrowIOErrors() {
        let dir = serializationTemporaryDirectory("st-missing")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.safetensors")
        let e1 = #expect(throws: CheckpointError.self) { try SafeTensors.read(from: missing) }
        #expect(e1?.kind == .io)
        #expect(e1?.description == "\(missing.path): no such file; check the path")
        let e2 = #expect(throws: CheckpointError.self) { try SafeTensors.read(from: dir) }
        #expect(e2?.kind == .io)
    }
}

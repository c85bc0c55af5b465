import Foundation

/// Named tensors and string metadata in the [safetensors](https://github.com/huggingface/safetensors)
/// format, the layout PyTorch's `safetensors.torch.save_file` / `load_file` use:
///
///     [8 bytes: N, little-endian UInt64] [N bytes: JSON header] [data buffer]
///
/// The header maps each tensor name to `{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin,
/// end]}` (byte offsets into the data buffer, row-major little-endian elements) and may hold
/// `"__metadata__": {string: string}`. Written headers list `__metadata__` first, then the tensors
/// sorted by name, whose data follow in that order; the header is padded with spaces so the data
/// start on an 8-byte boundary.
///
/// Writing stores Float32 tensors as `F32`, Float64 as `F64`, Int32 as `I32`, Int64 as `I64`, and
/// tensors whose name ends in `num_batches_tracked` (BatchNorm's count, a float tensor here, int64
/// in PyTorch) as `I64`. Reading accepts `F32`, `F64`, `I32` and `I64` as they are, converts `F16`
/// and `BF16` to Float32 and the other integer and boolean types (`I16`, `I8`, `U64`, `U32`,
/// `U16`, `U8`, `BOOL`) to Float64 (exact below 2⁵³). Writes are atomic (see ``write(to:)``). Any malformed input throws a
/// ``CheckpointError`` that names the file, the tensor or field, and the fix.
///
/// ```swift
/// let file = SafeTensors(tensors: ["w": w, "b": b], metadata: ["note": "hello"])
/// try file.write(to: URL(fileURLWithPath: "weights.safetensors"))
/// let back = try SafeTensors.read(from: URL(fileURLWithPath: "weights.safetensors"))
/// back.tensors["w"]   // bit-identical to w
/// ```
public struct SafeTensors: Sendable {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` entries.
    public var metadata: [String: String]
    /// For a file that was read: each tensor's dtype as stored (`"F32"`, `"I64"`, …) before conversion.
    package private(set) var storedDTypes: [String: String] = [:]

    /// Tensors and metadata to write.
    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor names in file order (sorted).
    var names: [String] { tensors.keys.sorted() }

    /// Whether `name` is stored as `I64` when written: BatchNorm's `num_batches_tracked` counts.
    static func isInt64(_ name: String) -> Bool { name.hasSuffix("num_batches_tracked") }

    /// Largest header accepted when reading (100 MB, as the reference implementation).
    static let maximumHeaderLength = 100_000_000

    // MARK: Element types

    /// Bytes per element of each safetensors dtype this library reads.
    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    // MARK: Writing

    /// The file's bytes: header length, padded JSON header, data buffer.
    ///
    /// - Parameter file: the destination's path, named in errors.
    /// - Throws: ``CheckpointError`` (`.invalidTensor`) when a `num_batches_tracked` tensor holds a
    ///   value that is not an integer, or a metadata or tensor name is empty.
    package func encoded(file: String? = nil) throws(CheckpointError) -> Data {
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(SafeTensors.jsonString($0)):\(SafeTensors.jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var body = Data()
        /// Appends `buf`'s scalars to `body` in little-endian byte order.
        func appendLittleEndian<T>(_ buf: UnsafeBufferPointer<T>) {
            #if _endian(big)
            for x in buf { withUnsafeBytes(of: x) { body.append(contentsOf: $0.reversed()) } }
            #else
            body.append(buf)
            #endif
        }
        for name in names {
            guard !name.isEmpty, name != "__metadata__" else {
                throw CheckpointError(.invalidTensor, file: file, field: "tensor '\(name)'",
                                      "this name cannot be stored; rename the tensor")
            }
            let t = tensors[name]!.detached()
            let begin = body.count
            let dtype: String
            if SafeTensors.isInt64(name) {
                dtype = "I64"
                var ints: [Int64] = []
                ints.reserveCapacity(t.count)
                for v in t.scalars(as: Double.self) {
                    guard v.isFinite, v.rounded() == v, let i = Int64(exactly: v) else {
                        throw CheckpointError(.invalidTensor, file: file, field: "tensor '\(name)'",
                                              "value \(v) is not an integer and cannot be stored as I64; reset the count to a whole number")
                    }
                    ints.append(i)
                }
                ints.withUnsafeBufferPointer { appendLittleEndian($0) }
            } else {
                switch t.dtype {
                case .float32:
                    dtype = "F32"
                    t.withUnsafeScalars(as: Float.self) { appendLittleEndian($0) }
                case .float64:
                    dtype = "F64"
                    t.withUnsafeScalars(as: Double.self) { appendLittleEndian($0) }
                case .int32:
                    dtype = "I32"
                    t.withUnsafeScalars(as: Int32.self) { appendLittleEndian($0) }
                case .int64:
                    dtype = "I64"
                    t.withUnsafeScalars(as: Int64.self) { appendLittleEndian($0) }
                }
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(SafeTensors.jsonString(name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(begin),\(body.count)]}")
        }
        header += entries.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = Data(capacity: 8 + headerBytes.count + body.count)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        out.append(body)
        return out
    }

    /// Writes the file atomically: the bytes go to a temporary file in the destination's
    /// directory, which is fsynced and renamed over `url`, and the directory is fsynced. A failure
    /// at any point removes the temporary file and leaves any existing file at `url` untouched.
    ///
    /// - Throws: ``CheckpointError`` (`.io` naming the path and the system's reason, or
    ///   `.invalidTensor` from `encoded(file:)`).
    public func write(to url: URL) throws(CheckpointError) {
        let data = try encoded(file: url.path)
        try AtomicFile.write(data, to: url)
    }

    // MARK: Reading

    /// Reads and validates the file at `url`.
    ///
    /// - Throws: ``CheckpointError``: `.io` (missing or unreadable), `.truncated`, `.headerLength`,
    ///   `.malformedHeader`, `.unknownDType`, `.offsets` or `.sizeMismatch`, naming the file and tensor.
    public static func read(from url: URL) throws(CheckpointError) -> SafeTensors {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(.io, file: path, "no such file; check the path")
        }
        guard !isDirectory.boolValue else {
            throw CheckpointError(.io, file: path, "is a directory, not a safetensors file; pass the file's path")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CheckpointError(.io, file: path, "cannot be read (\(error.localizedDescription)); check its permissions")
        }
        return try decode(data, file: path)
    }

    /// The `__metadata__` of the safetensors file at `url`, read from its header alone (the tensor
    /// data is not read); nil when the file cannot be read or its header is not a safetensors header.
    package static func metadata(of url: URL) -> [String: String]? {
        /// A header's `__metadata__` entry alone.
        struct MetadataOnly: Decodable {
            var __metadata__: [String: String]?
        }
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let prefix = try? handle.read(upToCount: 8), prefix.count == 8 else { return nil }
        let n = prefix.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(maximumHeaderLength), let header = try? handle.read(upToCount: Int(n)), header.count == Int(n),
              let decoded = try? JSONDecoder().decode(MetadataOnly.self, from: header) else { return nil }
        return decoded.__metadata__ ?? [:]
    }

    /// Parses and validates safetensors bytes; `file` (a path or label) is named in errors.
    ///
    /// - Throws: ``CheckpointError`` as ``read(from:)``.
    public static func decode(_ data: Data, file: String? = nil) throws(CheckpointError) -> SafeTensors {
        let result: Result<SafeTensors, CheckpointError> = data.withUnsafeBytes { raw in
            do throws(CheckpointError) { return .success(try decode(raw, file: file)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, file: String?) throws(CheckpointError) -> SafeTensors {
        guard raw.count >= 8 else {
            throw CheckpointError(.truncated, file: file,
                                  "only \(raw.count) bytes, less than the 8-byte header length: the file is truncated or not a safetensors file; re-save it")
        }
        let n = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard n <= UInt64(maximumHeaderLength) else {
            throw CheckpointError(.headerLength, file: file,
                                  "header length \(n) exceeds the \(maximumHeaderLength)-byte limit: not a safetensors file or corrupt; re-save it")
        }
        let headerLength = Int(n)
        guard headerLength <= raw.count - 8 else {
            throw CheckpointError(.headerLength, file: file,
                                  "header length \(headerLength) reaches past the end of the \(raw.count)-byte file: the file is truncated or not a safetensors file; re-save it")
        }
        let headerBytes = Data(raw[8..<(8 + headerLength)])
        guard String(data: headerBytes, encoding: .utf8) != nil else {
            throw CheckpointError(.malformedHeader, file: file, field: "header", "is not valid UTF-8; the file is corrupt, re-save it")
        }
        let rawHeader: RawHeader
        do {
            rawHeader = try JSONDecoder().decode(RawHeader.self, from: headerBytes)
        } catch let error as DecodingError {
            throw headerError(error, file: file)
        } catch {
            throw CheckpointError(.malformedHeader, file: file, field: "header", "is not valid JSON (\(error)); the file is corrupt, re-save it")
        }

        if let (field, key) = JSONKeys.firstDuplicate(in: headerBytes) {
            throw CheckpointError(.malformedHeader, file: file, field: field,
                                  "holds the key \"\(key)\" twice; the file is corrupt or was written by a faulty tool, re-save it")
        }

        let bufferStart = 8 + headerLength
        let bufferSize = raw.count - bufferStart
        var out = SafeTensors(tensors: [:], metadata: rawHeader.metadata)
        // Every entry is checked, overlaps included, before any tensor is allocated: the tensors
        // then share the data buffer without overlap, so memory is bounded by the file's size.
        var ranges: [(begin: Int, end: Int, name: String)] = []
        var valid: [(name: String, dtype: String, shape: [Int], count: Int, begin: Int)] = []
        for (name, stored) in rawHeader.entries.sorted(by: { $0.0 < $1.0 }) {
            let field = "tensor '\(name)'"
            func integers(_ values: [Double], _ key: String) throws(CheckpointError) -> [Int] {
                guard values.allSatisfy({ $0.rounded() == $0 && abs($0) < 0x1p62 }) else {
                    throw CheckpointError(.malformedHeader, file: file, field: field + " " + key,
                                          "must hold integers, got \(brief(values)); the file is corrupt, re-save it")
                }
                return values.map { Int($0) }
            }
            let entry = (dtype: stored.dtype, shape: try integers(stored.shape, "shape"),
                         data_offsets: try integers(stored.data_offsets, "data_offsets"))
            guard let size = elementSizes[entry.dtype] else {
                throw CheckpointError(.unknownDType, file: file, field: field,
                                      "dtype \"\(brief(entry.dtype, limit: 20))\" is not supported (supported: \(elementSizes.keys.sorted().joined(separator: ", "))); convert it to F32 before saving")
            }
            guard entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError(.malformedHeader, file: file, field: field,
                                      "shape \(brief(entry.shape)) has a negative dimension; the file is corrupt, re-save it")
            }
            guard let count = checkedElementCount(entry.shape, itemSize: size) else {
                throw CheckpointError(.sizeMismatch, file: file, field: field,
                                      "shape \(brief(entry.shape)) is too large for any file (its byte size overflows); the file is corrupt, re-save it")
            }
            guard entry.data_offsets.count == 2 else {
                throw CheckpointError(.malformedHeader, file: file, field: field + " data_offsets",
                                      "must be [begin, end], got \(brief(entry.data_offsets)); the file is corrupt, re-save it")
            }
            let begin = entry.data_offsets[0], end = entry.data_offsets[1]
            guard begin >= 0, begin <= end, end <= bufferSize else {
                throw CheckpointError(.offsets, file: file, field: field,
                                      "data_offsets [\(begin), \(end)] are out of range of the \(bufferSize)-byte data buffer (the file may be truncated); re-save it")
            }
            let bytes = count * size   // no overflow: checked above
            guard bytes == end - begin else {
                throw CheckpointError(.sizeMismatch, file: file, field: field,
                                      "shape \(brief(entry.shape)) of \(entry.dtype) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin); the file is corrupt, re-save it")
            }
            ranges.append((begin, end, name))
            valid.append((name, entry.dtype, entry.shape, count, begin))
        }
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var widest: (begin: Int, end: Int, name: String)?   // the non-empty range reaching furthest so far
        for b in ranges where b.end > b.begin {
            if let a = widest, b.begin < a.end {
                throw CheckpointError(.offsets, file: file, field: "tensor '\(b.name)'",
                                      "data_offsets [\(b.begin), \(b.end)] overlap those of tensor '\(a.name)' [\(a.begin), \(a.end)]; the file is corrupt, re-save it")
            }
            if widest == nil || b.end > widest!.end { widest = b }
        }
        for t in valid {
            out.tensors[t.name] = convert(raw, from: bufferStart + t.begin, count: t.count, dtype: t.dtype, shape: t.shape)
            out.storedDTypes[t.name] = t.dtype
        }
        return out
    }

    /// The elements at `offset` as a tensor: Float32 for F32/F16/BF16, Int32 for I32, Int64 for I64,
    /// Float64 otherwise.
    private static func convert(_ raw: UnsafeRawBufferPointer, from offset: Int, count: Int, dtype: String, shape: [Int]) -> Tensor {
        /// The `count` little-endian words of type `W` at `offset`, each made an `S` by `element`.
        func decode<W: FixedWidthInteger, S: TensorElement>(_: W.Type, as dt: DType, _ element: (W) -> S) -> Tensor {
            var t = Tensor.zeros(shape, dtype: dt)
            t.withUnsafeMutableScalars(as: S.self) { out in
                for i in 0..<count {
                    out[i] = element(W(littleEndian: raw.loadUnaligned(fromByteOffset: offset + i * W.bitWidth / 8, as: W.self)))
                }
            }
            return t
        }
        func ints<I: FixedWidthInteger>(_: I.Type) -> Tensor { decode(I.self, as: .float64) { Double($0) } }
        switch dtype {
        case "F32": return decode(UInt32.self, as: .float32) { Float(bitPattern: $0) }
        case "F64": return decode(UInt64.self, as: .float64) { Double(bitPattern: $0) }
        case "F16", "BF16":
            let brain = dtype == "BF16"
            return decode(UInt16.self, as: .float32) { h in brain ? Float(bitPattern: UInt32(h) << 16) : halfToFloat(h) }
        case "I64": return decode(UInt64.self, as: .int64) { Int64(bitPattern: $0) }
        case "I32": return decode(UInt32.self, as: .int32) { Int32(bitPattern: $0) }
        case "I16": return ints(Int16.self)
        case "I8": return ints(Int8.self)
        case "U64": return ints(UInt64.self)
        case "U32": return ints(UInt32.self)
        case "U16": return ints(UInt16.self)
        default: return ints(UInt8.self)   // U8, BOOL
        }
    }

    /// IEEE 754 binary16 → Float (exact: every half is a float).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }   // inf, NaN
        if exponent == 0 {                                                                   // zero, subnormal
            let magnitude = Float(mantissa) * 0x1p-24
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }

    // MARK: Header JSON

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct RawEntry: Decodable {
        let dtype: String
        let shape: [Double]          // numbers as JSON has them; checked to be integers below
        let data_offsets: [Double]
    }

    private struct RawHeader: Decodable {
        var entries: [(String, RawEntry)] = []
        var metadata: [String: String] = [:]
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    entries.append((key.stringValue, try c.decode(RawEntry.self, forKey: key)))
                }
            }
        }
    }

    private static func headerError(_ error: DecodingError, file: String?) -> CheckpointError {
        func path(_ p: [any CodingKey]) -> String? {
            guard let first = p.first else { return nil }
            let rest = p.dropFirst().map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return first.stringValue == "__metadata__" ? "__metadata__" + rest : "tensor '\(first.stringValue)'" + rest
        }
        let fix = "the file is corrupt or not a safetensors file; re-save it"
        switch error {
        case .keyNotFound(let key, let context):
            return CheckpointError(.malformedHeader, file: file, field: path(context.codingPath) ?? "header",
                                   "lacks the field \"\(key.stringValue)\"; \(fix)")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return CheckpointError(.malformedHeader, file: file, field: path(context.codingPath) ?? "header",
                                   "has the wrong type (\(context.debugDescription)); \(fix)")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return CheckpointError(.malformedHeader, file: file, field: "header", "is not valid JSON; \(fix)")
            }
            return CheckpointError(.malformedHeader, file: file, field: path(context.codingPath) ?? "header",
                                   "is invalid (\(context.debugDescription)); \(fix)")
        @unknown default:
            return CheckpointError(.malformedHeader, file: file, field: "header", "does not parse; \(fix)")
        }
    }

    /// `s` as a JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

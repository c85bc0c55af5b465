import Foundation

/// NumPy's `.npy` array files (format versions 1.0, 2.0 and 3.0), C order.
///
/// Reading accepts little-endian float32 (`<f4`), float64 (`<f8`), int64 (`<i8`), int32 (`<i4`)
/// and one-byte integers (`|u1`, `|i1`): `<i8` reads as an ``DType/int64`` tensor, `<i4` as
/// ``DType/int32``, one-byte integers as float32 values (pixels). Writing produces `<f4`, `<f8`,
/// `<i4` or `<i8` per the tensor's dtype, version 1.0 (2.0 when the header needs it). Scalars
/// (shape `()`) read as shape `[]`.
///
/// ```swift
/// try NPY.write(x, to: URL(fileURLWithPath: "x.npy"))     // np.load("x.npy") in Python
/// let y = try NPY.read(URL(fileURLWithPath: "y.npy"))     // from np.save
/// ```
public enum NPY {
    /// The tensor stored in the `.npy` file at `url`.
    ///
    /// - Throws: ``DataError`` for a missing file, a bad signature, a malformed or unsupported header
    ///   (Fortran order, big-endian or other dtypes, object arrays) or a data size that does not
    ///   match the shape (too few bytes, or bytes left over).
    public static func read(_ url: URL) throws -> Tensor {
        try decode(DataError.readFile(url.path), file: url.path)
    }

    /// The tensor stored in the `.npy` bytes `data`; `file` names it in error messages.
    ///
    /// Memory is bounded by `data`: the shape's byte size is checked against the bytes present
    /// (without overflow) before the tensor is allocated.
    ///
    /// - Throws: ``DataError`` as ``read(_:)``.
    public static func decode(_ data: Data, file: String = "<npy>") throws -> Tensor {
        let b = [UInt8](data)
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard b.count >= 10, Array(b[0..<6]) == magic else {
            throw DataError(.badMagic, path: file, "not a NumPy .npy file: missing the \\x93NUMPY signature at offset 0")
        }
        let major = b[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8
            start = 10
        case 2, 3:
            guard b.count >= 12 else { throw DataError(.truncated, path: file, "ends inside the header length at offset 8") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        default:
            throw DataError(.unsupported, path: file, "npy format version \(major).\(b[7]) at offset 6 is not supported (1.0, 2.0 or 3.0)")
        }
        guard b.count >= start + headerLength else {
            throw DataError(.truncated, path: file, "ends inside the \(headerLength)-byte header that starts at offset \(start)")
        }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = stringValue("descr", in: header) else {
            throw DataError(.badHeader, path: file, "header has no 'descr' entry: \(brief(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        guard let fortran = rawValue("fortran_order", in: header) else {
            throw DataError(.badHeader, path: file, "header has no 'fortran_order' entry")
        }
        if fortran.hasPrefix("True") {
            throw DataError(.unsupported, path: file,
                            "fortran_order is True (column-major); save a C-order array instead (np.save(f, np.ascontiguousarray(a)))")
        }
        guard let shape = shapeValue(in: header) else {
            throw DataError(.badHeader, path: file, "header's 'shape' is not a tuple of non-negative integers: \(brief(header.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        let bodyStart = start + headerLength
        let itemSize: Int
        switch descr {
        case "<f4", "<i4": itemSize = 4
        case "<f8", "<i8": itemSize = 8
        case "|u1", "<u1", "|i1": itemSize = 1
        default:
            throw DataError(.unsupported, path: file,
                            "dtype '\(brief(descr, limit: 20))' is not supported; use little-endian float32 ('<f4'), float64 ('<f8') or int64 ('<i8')")
        }
        // Sizes are checked against the bytes present before anything is allocated.
        guard let count = checkedElementCount(shape, itemSize: itemSize) else {
            throw DataError(.badHeader, path: file,
                            "shape \(brief(shape)) is too large for any file (its byte size overflows); the header is corrupt")
        }
        let expected = count * itemSize, present = b.count - bodyStart
        guard present >= expected else {
            throw DataError(.truncated, path: file,
                            "shape \(brief(shape)) needs \(expected) data bytes after offset \(bodyStart) but only \(present) are present (truncated file?)")
        }
        guard present == expected else {
            throw DataError(.badHeader, path: file,
                            "shape \(brief(shape)) of '\(descr)' needs \(expected) data bytes after offset \(bodyStart) but \(present) are present; the header or the data are corrupt")
        }
        var out: Tensor
        switch descr {
        case "<f4":
            out = Tensor(uninitialized: shape, dtype: .float32)
            b.withUnsafeBytes { raw in
                (UnsafeMutableRawPointer(out.pointer(Float.self))).copyMemory(from: raw.baseAddress! + bodyStart, byteCount: expected)
            }
        case "<f8":
            out = Tensor(uninitialized: shape, dtype: .float64)
            b.withUnsafeBytes { raw in
                (UnsafeMutableRawPointer(out.pointer(Double.self))).copyMemory(from: raw.baseAddress! + bodyStart, byteCount: expected)
            }
        case "<i8":
            out = Tensor(uninitialized: shape, dtype: .int64)
            let p = out.pointer(Int64.self)
            b.withUnsafeBytes { raw in
                for i in 0..<count { p[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: bodyStart + 8 * i, as: Int64.self)) }
            }
        case "<i4":
            out = Tensor(uninitialized: shape, dtype: .int32)
            let p = out.pointer(Int32.self)
            b.withUnsafeBytes { raw in
                for i in 0..<count { p[i] = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: bodyStart + 4 * i, as: Int32.self)) }
            }
        default:   // one-byte integers
            out = Tensor(uninitialized: shape, dtype: .float32)
            let p = out.pointer(Float.self)
            let signed = descr == "|i1"
            for i in 0..<count { p[i] = signed ? Float(Int8(bitPattern: b[bodyStart + i])) : Float(b[bodyStart + i]) }
        }
        return out
    }

    /// The `.npy` bytes of `tensor` (C order, `<f4`, `<f8`, `<i4` or `<i8`).
    public static func encode(_ tensor: Tensor) -> Data {
        let descr = switch tensor.dtype {
        case .float32: "<f4"
        case .float64: "<f8"
        case .int32: "<i4"
        case .int64: "<i8"
        }
        let shape = tensor.shape.isEmpty ? "()" : tensor.shape.count == 1 ? "(\(tensor.shape[0]),)"
            : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        // Pad with spaces so the data starts at a multiple of 64 bytes; the header ends in '\n'.
        let version1 = header.utf8.count + 64 <= 65535   // the padded length must fit in 16 bits
        let prefix = version1 ? 10 : 12
        let total = (prefix + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - prefix - header.utf8.count - 1) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [version1 ? 1 : 2, 0])
        let n = header.utf8.count
        data.append(contentsOf: version1 ? [UInt8(n & 0xff), UInt8(n >> 8)]
                                         : [UInt8(n & 0xff), UInt8(n >> 8 & 0xff), UInt8(n >> 16 & 0xff), UInt8(n >> 24)])
        data.append(contentsOf: Array(header.utf8))
        switch tensor.dtype {
        case .float32: tensor.withUnsafeScalars(as: Float.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        case .float64: tensor.withUnsafeScalars(as: Double.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        case .int32: tensor.withUnsafeScalars(as: Int32.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        case .int64: tensor.withUnsafeScalars(as: Int64.self) { data.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        }
        return data
    }

    /// Writes `tensor` as a `.npy` file (C order, `<f4`, `<f8`, `<i4` or `<i8`), atomically.
    ///
    /// - Throws: ``DataError`` `.writeFailed` when the file cannot be written.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        do { try encode(tensor).write(to: url, options: .atomic) }
        catch { throw DataError(.writeFailed, path: url.path, "cannot be written (\(error.localizedDescription))") }
    }

    /// The text after `'key':` in a header dict, up to the end.
    private static func rawValue(_ key: String, in header: String) -> Substring? {
        for quote in ["'", "\""] {
            if let r = header.range(of: "\(quote)\(key)\(quote)") {
                var rest = header[r.upperBound...].drop { $0 == " " }
                guard rest.first == ":" else { return nil }
                rest = rest.dropFirst().drop { $0 == " " }
                return rest
            }
        }
        return nil
    }

    /// A quoted string value.
    private static func stringValue(_ key: String, in header: String) -> String? {
        guard let rest = rawValue(key, in: header), let q = rest.first, q == "'" || q == "\"" else { return nil }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { return nil }
        return String(body[..<end])
    }

    /// The 'shape' tuple.
    private static func shapeValue(in header: String) -> [Int]? {
        guard let rest = rawValue("shape", in: header), rest.first == "(", let end = rest.firstIndex(of: ")") else { return nil }
        let items = rest[rest.index(after: rest.startIndex)..<end].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "") }
            .filter { !$0.isEmpty }
        let dims = items.compactMap { Int($0) }
        return dims.count == items.count && dims.allSatisfy { $0 >= 0 } ? dims : nil
    }
}

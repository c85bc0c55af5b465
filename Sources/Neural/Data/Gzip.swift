import CZlib
import Foundation

/// Gzip decompression through the system zlib (`inflate` with gzip framing, 16 + MAX_WBITS).
/// Concatenated gzip members are decompressed one after another, as `gunzip` does.
///
/// ```swift
/// let bytes = try Gzip.decompress(try Data(contentsOf: url), file: url.path)   // [UInt8]
/// ```
public enum Gzip {
    /// Whether `bytes` start with the gzip signature 1f 8b.
    package static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        return it.next() == 0x1f && it.next() == 0x8b
    }

    /// The decompressed bytes of the gzip stream `data`.
    ///
    /// Memory is bounded by the input: deflate expands at most 1032:1, the output buffer grows only
    /// as bytes arrive, and `limit` stops early.
    ///
    /// - Parameters:
    ///   - file: the name used in error messages.
    ///   - limit: the most bytes to produce; decompression stops there, and the result is the
    ///     stream's first `limit` bytes (default: no limit). A result shorter than `limit` is the
    ///     whole stream, checked against its CRC and length.
    /// - Throws: ``DataError`` `.corruptCompression` for data that is not gzip or fails its checks
    ///   (bad header, invalid deflate data, CRC or length mismatch), `.truncated` when the stream
    ///   ends early.
    package static func decompress(_ data: Data, file: String, limit: Int = .max) throws -> [UInt8] {
        try data.withUnsafeBytes { raw in
            try decompress(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: raw.count),
                           file: file, limit: limit)
        }
    }

    /// The decompressed bytes of the gzip stream `bytes` (`limit` and errors as for `Data` input).
    package static func decompress(_ bytes: [UInt8], file: String, limit: Int = .max) throws -> [UInt8] {
        try bytes.withUnsafeBufferPointer { try decompress($0, file: file, limit: limit) }
    }

    /// The decompressed bytes of the gzip stream in `input` (`limit` and errors as for `Data` input).
    package static func decompress(_ input: UnsafeBufferPointer<UInt8>, file: String, limit: Int = .max) throws -> [UInt8] {
        try inflateStream(input, file: file, limit: limit, keep: true)
    }

    /// Checks the whole gzip stream `data` (deflate data, CRCs, lengths) in constant memory: the
    /// output is decompressed into a small buffer and discarded.
    ///
    /// - Throws: ``DataError`` as `decompress` does.
    static func check(_ data: Data, file: String) throws {
        _ = try data.withUnsafeBytes { raw in
            try inflateStream(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: raw.count),
                        file: file, limit: .max, keep: false)
        }
    }

    /// Inflates `input` up to `limit` bytes; with `keep` false, into a reused 64 KiB buffer
    /// (for checking a stream), returning only the last chunk.
    private static func inflateStream(_ input: UnsafeBufferPointer<UInt8>, file: String, limit: Int, keep: Bool) throws -> [UInt8] {
        guard input.count >= 2, input[0] == 0x1f, input[1] == 0x8b else {
            let found = input.prefix(2).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw DataError(.corruptCompression, path: file,
                            "not gzip data: signature \(found.isEmpty ? "(empty file)" : found) at offset 0, expected 1f 8b")
        }
        guard input.count >= 18 else {
            throw DataError(.truncated, path: file,
                            "truncated gzip stream: only \(input.count) bytes (re-download the file)")
        }
        let limit = Swift.max(limit, 0)
        // ISIZE (the uncompressed length mod 2^32) of the last member: a capacity hint only.
        let n = input.count
        let hint = Int(UInt32(input[n - 4]) | UInt32(input[n - 3]) << 8 | UInt32(input[n - 2]) << 16 | UInt32(input[n - 1]) << 24)
        // (Deflate expands at most ~1032:1, so a larger hint belongs to a corrupt trailer.)
        var out = [UInt8](repeating: 0, count: Swift.min(keep ? Swift.max(Swift.min(hint, 1032 * n), 1 << 16) : 1 << 16, limit))
        var produced = 0
        if limit == 0 { return [] }

        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(.corruptCompression, path: file, "zlib could not start inflating (out of memory?)")
        }
        defer { inflateEnd(&stream) }

        var consumed = 0
        while true {
            // zlib counts in UInt32; feed and drain in chunks below 4 GiB.
            let inChunk = Swift.min(n - consumed, Int(UInt32.max))
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + consumed)
            stream.avail_in = UInt32(inChunk)
            if produced == limit {   // the caller wants no more
                out.removeSubrange(produced...)
                return out
            }
            if produced == out.count && !keep { produced = 0 }   // checking only: reuse the buffer
            if produced == out.count { out.append(contentsOf: repeatElement(0, count: Swift.min(out.count, limit - out.count))) }
            let outChunk = Swift.min(out.count - produced, Int(UInt32.max))
            let status: Int32 = out.withUnsafeMutableBufferPointer { buffer in
                stream.next_out = buffer.baseAddress! + produced
                stream.avail_out = UInt32(outChunk)
                return inflate(&stream, Z_NO_FLUSH)
            }
            consumed += inChunk - Int(stream.avail_in)
            produced += outChunk - Int(stream.avail_out)
            switch status {
            case Z_STREAM_END:
                // Another member follows (as `gzip a b > c` writes)? Otherwise stop, as gunzip does
                // for trailing zero padding.
                if consumed + 2 <= n, input[consumed] == 0x1f, input[consumed + 1] == 0x8b {
                    inflateReset(&stream)
                    continue
                }
                out.removeSubrange(produced...)
                return out
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_out == 0 { continue }   // needs more output room: grown above
                if consumed >= n {
                    throw DataError(.truncated, path: file,
                                    "truncated gzip stream: input ends at byte \(n) after \(produced) decompressed bytes (re-download the file)")
                }
                throw DataError(.corruptCompression, path: file,
                                "corrupt gzip data near compressed offset \(consumed): inflate made no progress (re-download the file)")
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw DataError(.corruptCompression, path: file,
                                "corrupt gzip data near compressed offset \(consumed): \(reason) (re-download the file)")
            }
        }
    }

    /// `bytes` compressed as one gzip member (zlib `deflate`, gzip framing), readable by `gunzip`.
    ///
    /// - Parameters:
    ///   - bytes: the data to compress.
    ///   - level: 0 (store) … 9 (smallest); default 6, as `gzip`.
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        var stream = z_stream()
        let ok = deflateInit2_(&stream, Int32(Swift.max(0, Swift.min(9, level))), Z_DEFLATED, 16 + MAX_WBITS, 8,
                               Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(ok == Z_OK, "Neural: zlib deflateInit2 failed (\(ok))")
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(output.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        precondition(status == Z_STREAM_END, "Neural: zlib deflate did not finish (\(status))")
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }
}

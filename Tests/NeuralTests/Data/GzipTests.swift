import Foundation
import Neural
import Testing

struct GzipTests {
    let payload: [UInt8] = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 251) }

    @Test func roundTripThroughZlib() throws {
        let packed = Gzip.compress(payload)
        #expect(Gzip.isGzip(packed))
        #expect(packed.count < payload.count)
        #expect(try Gzip.decompress(packed, file: "x.gz") == payload)
        #expect(try Gzip.decompress(Gzip.compress([]), file: "empty.gz") == [])
    }

    @Test func concatenatedMembersDecompressInOrder() throws {
        let a: [UInt8] = Array("hello ".utf8), b: [UInt8] = Array("world".utf8)
        #expect(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b), file: "ab.gz") == a + b)
    }

    @Test func truncatedStreamIsReported() {
        let packed = Gzip.compress(payload)
        for cut in [packed.count - 1, packed.count - 8, packed.count / 2, 20] {
            expectDataError(["cut.gz", "truncated"], kind: .truncated) {
                _ = try Gzip.decompress(Array(packed.prefix(cut)), file: "/tmp/cut.gz")
            }
        }
    }

    @Test func corruptStreamIsReported() {
        var packed = Gzip.compress(payload)
        for i in 30..<60 { packed[i] ^= 0x5a }
        expectDataError(["bad.gz", "corrupt gzip data"], kind: .corruptCompression) {
            _ = try Gzip.decompress(packed, file: "bad.gz")
        }
        var crc = Gzip.compress(payload)
        crc[crc.count - 6] ^= 1                                   // CRC-32 of the trailer
        expectDataError(["crc.gz", "corrupt"], kind: .corruptCompression) { _ = try Gzip.decompress(crc, file: "crc.gz") }
        expectDataError(["plain.gz", "not gzip data", "expected 1f 8b"], kind: .corruptCompression) {
            _ = try Gzip.decompress(Array("not compressed".utf8), file: "plain.gz")
        }
        expectDataError(["empty.gz", "empty file"]) { _ = try Gzip.decompress([UInt8](), file: "empty.gz") }
    }
}

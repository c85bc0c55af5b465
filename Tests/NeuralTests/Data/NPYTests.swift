import Foundation
import Neural
import Testing

/// A `.npy` file as numpy writes it: version 1.0 header padded to 64 bytes, then the data.
private func npyBytes(header: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
    let prefix = version == 1 ? 10 : 12
    var h = header
    let total = (prefix + h.utf8.count + 1 + 63) / 64 * 64
    h += String(repeating: " ", count: total - prefix - h.utf8.count - 1) + "\n"
    let n = h.utf8.count
    let length: [UInt8] = version == 1 ? [UInt8(n & 0xff), UInt8(n >> 8)] : [UInt8(n & 0xff), UInt8(n >> 8), 0, 0]
    return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + Array(h.utf8) + data
}

private func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

struct NPYTests {
    @Test func roundTripFloat32AndFloat64() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for dtype in DType.floatingPointCases {
            for shape in [[2, 3, 4], [5], [], [0, 3]] {
                let x = Tensor.randn(shape, dtype: dtype, generator: RandomGenerator(seed: 3))
                let url = URL(fileURLWithPath: dir + "/x.npy")
                try NPY.write(x, to: url)
                let bytes = [UInt8](try Data(contentsOf: url))
                let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
                #expect((10 + headerLength) % 64 == 0 && bytes[9 + headerLength] == 0x0a)
                let y = try NPY.read(url)
                #expect(y.shape == shape && y.dtype == dtype)
                #expect(y.scalars(as: Double.self) == x.scalars(as: Double.self))
            }
        }
        // The header numpy expects.
        let header = String(decoding: NPY.encode(Tensor([1, 2, 3, 4], shape: [2, 2])).prefix(128).dropFirst(10), as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"))
        #expect(String(decoding: NPY.encode(Tensor([1.0, 2], dtype: .float64)).prefix(128).dropFirst(10), as: UTF8.self)
            .contains("'shape': (2,)"))
    }

    @Test func readsInt64WrittenByNumpy() throws {
        // np.save(f, np.array([[1, -2, 3], [4, 5, 1 << 40]], dtype=np.int64))
        let values: [Int64] = [1, -2, 3, 4, 5, 1 << 40]
        let bytes = npyBytes(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", data: littleEndian(values))
        let t = try NPY.decode(Data(bytes), file: "labels.npy")
        #expect(t.shape == [2, 3] && t.dtype == .int64)
        #expect(t.scalars(as: Int64.self) == values)
        // Version 2.0 header, double quotes and a float64 scalar.
        let v2 = npyBytes(header: "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (), }",
                          data: littleEndian([(2.5).bitPattern]), version: 2)
        let s = try NPY.decode(Data(v2))
        #expect(s.shape == [] && s.item() == 2.5)
    }

    @Test func badFilesAreReported() {
        let f = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"
        expectDataError(["m.npy", "fortran_order is True", "C-order"], kind: .unsupported) {
            _ = try NPY.decode(Data(npyBytes(header: f, data: [UInt8](repeating: 0, count: 16))), file: "m.npy")
        }
        expectDataError(["c.npy", "dtype '<c16' is not supported"], kind: .unsupported) {
            _ = try NPY.decode(Data(npyBytes(header: "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                                             data: [UInt8](repeating: 0, count: 16))), file: "c.npy")
        }
        expectDataError(["t.npy", "needs 24 data bytes"], kind: .truncated) {
            _ = try NPY.decode(Data(npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                             data: [UInt8](repeating: 0, count: 20))), file: "t.npy")
        }
        expectDataError(["x.npy", "not a NumPy .npy file"], kind: .badMagic) { _ = try NPY.decode(Data("hello world".utf8), file: "x.npy") }
        expectDataError(["none.npy", "no such file"], kind: .missingFile) { _ = try NPY.read(URL(fileURLWithPath: "/nonexistent/none.npy")) }
    }
}

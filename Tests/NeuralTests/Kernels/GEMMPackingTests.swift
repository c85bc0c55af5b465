import CNeuralKernels
import Testing

// Tests of the Float32 GEMM packing routines (gemm_pack.c) against their definition.

@Suite("GEMM packing")
struct GEMMPackingTests {
    /// (src, ld, row table or nil, count, width, depth, dst).
    private typealias Pack = (UnsafePointer<Float>?, Int, UnsafePointer<Int>?, Int, Int, Int,
                              UnsafeMutablePointer<Float>?) -> Void

    /// The routines this CPU can run: the portable ones always, the AVX2 and AVX-512 ones when supported.
    private static func routines(transposed: Bool) -> [(String, Pack)] {
        var list: [(String, Pack)] = transposed
            ? [("portable", { nk_spack_transposed_portable($0, $1, $2, $3, $4, $5, $6) })]
            : [("portable", { nk_spack_runs_portable($0, $1, $2, $3, $4, $5, $6) })]
        if nk_cpu_level() >= 1 {
            list.append(transposed
                ? ("avx2", { nk_spack_transposed_avx2($0, $1, $2, $3, $4, $5, $6) })
                : ("avx2", { nk_spack_runs_avx2($0, $1, $2, $3, $4, $5, $6) }))
        }
        if nk_cpu_level() >= 2 {
            list.append(transposed
                ? ("avx512", { nk_spack_transposed_avx512($0, $1, $2, $3, $4, $5, $6) })
                : ("avx512", { nk_spack_runs_avx512($0, $1, $2, $3, $4, $5, $6) }))
        }
        return list
    }

    /// Packs with every routine and compares each output bit for bit with the definition
    /// (dst[p * width + i] = op(src)(p, i) for i < count, +0 for count <= i < width); the 32
    /// floats after the panel must be left untouched.
    /// With `rowTable`, the row-table routines read row r at `rowOffsets[r]`: rows out of order,
    /// some repeated, some shifted by one element (overlapping, as an implicit im2col matrix's
    /// rows are).
    private func check(transposed: Bool, width: Int, count: Int, depth: Int, rowTable: Bool = false) -> Bool {
        let ld = max(count, depth) + 3
        let rows = transposed ? count : depth
        let rowOffsets = (0..<rows).map { r in ((r * 7) % rows) * ld + (r % 2) }
        // Distinct values, with -0 and a NaN payload that a non-moving copy would change.
        var src = (0..<(rows * ld)).map { Float($0) * 0.25 - 7 }
        if src.count > 2 { src[1] = -0.0; src[2] = Float(bitPattern: 0x7FC0_1234) }
        var expected = [UInt32](repeating: 0xDEAD_BEEF, count: width * depth + 32)
        for p in 0..<depth {
            for i in 0..<width {
                let row = transposed ? i : p, col = transposed ? p : i
                let v: Float = i < count ? src[(rowTable ? rowOffsets[row] : row * ld) + col] : 0
                expected[p * width + i] = v.bitPattern
            }
        }
        var ok = true
        for (_, pack) in Self.routines(transposed: transposed) {
            var dst = [Float](repeating: Float(bitPattern: 0xDEAD_BEEF), count: width * depth + 32)
            src.withUnsafeBufferPointer { s in
                dst.withUnsafeMutableBufferPointer { d in
                    rowOffsets.withUnsafeBufferPointer { r in
                        pack(s.baseAddress, rowTable ? 0 : ld, rowTable ? r.baseAddress : nil, count, width, depth, d.baseAddress)
                    }
                }
            }
            ok = ok && dst.map(\.bitPattern) == expected
        }
        return ok
    }

    @Test("One panel, contiguous runs or transposed source: every width, count and depth edge matches the definition bit for bit",
          arguments: [false, true], [4, 6, 8, 12, 16, 32])
    func singlePanel(transposed: Bool, width: Int) {
        for count in 1...width {
            for depth in [1, 3, 15, 16, 17, 40] {
                #expect(check(transposed: transposed, width: width, count: count, depth: depth),
                        "transposed \(transposed) width \(width) count \(count) depth \(depth)")
            }
        }
    }

    @Test("Row table (implicit im2col): rows at arbitrary, overlapping offsets match the definition bit for bit",
          arguments: [false, true])
    func rowTable(transposed: Bool) {
        for width in [6, 8, 12, 16, 32, 48] {
            for count in [1, 5, width - 1, width] {
                for depth in [1, 15, 16, 17, 40] {
                    #expect(check(transposed: transposed, width: width, count: count, depth: depth, rowTable: true),
                            "transposed \(transposed) width \(width) count \(count) depth \(depth)")
                }
            }
        }
    }

    @Test("Transposed source, more rows than the width: consecutive panels, as one panel per call would give",
          arguments: [6, 8, 12])
    func transposedSeveralPanels(width: Int) {
        for count in (width + 1)...(2 * width + 3) {
            for depth in [1, 15, 16, 17, 40] {
                let ld = depth + 5
                let src = (0..<(count * ld)).map { Float($0) * 0.5 - 3 }
                let panels = (count + width - 1) / width
                var expected = [Float](repeating: 0, count: panels * width * depth)
                for i in 0..<count {
                    for p in 0..<depth { expected[(i / width) * width * depth + p * width + i % width] = src[i * ld + p] }
                }
                for (name, pack) in Self.routines(transposed: true) {
                    var dst = [Float](repeating: .nan, count: panels * width * depth)
                    src.withUnsafeBufferPointer { s in
                        dst.withUnsafeMutableBufferPointer { d in pack(s.baseAddress, ld, nil, count, width, depth, d.baseAddress) }
                    }
                    #expect(dst.map(\.bitPattern) == expected.map(\.bitPattern), "\(name) width \(width) count \(count) depth \(depth)")
                }
            }
        }
    }
}

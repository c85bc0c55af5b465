import Neural
import Testing

// The GEMM's blocking, packing and threading decisions for the shapes docs/PERFORMANCE.md talks
// about, checked on the plan alone (no product runs). Machines: AVX-512 (level 2) or AVX2
// (level 1), with one or two threads.

private let avx512x2 = GEMMMachine(level: 2, threads: 2)

/// The tiling of a Float32 product, failing the test when the plan is not register tiles.
private func tiling(_ problem: GEMMProblem, dtype: DType = .float32, on machine: GEMMMachine = avx512x2,
                    sourceLocation: SourceLocation = #_sourceLocation) -> GEMMTiling? {
    guard case .tiles(let t) = GEMMPlan(problem, dtype: dtype, on: machine) else {
        Issue.record("not a tiled plan: \(GEMMPlan(problem, dtype: dtype, on: machine))", sourceLocation: sourceLocation)
        return nil
    }
    return t
}

struct GEMMPlanTests {
    @Test func mlpForwardSplitsColumnsBetweenTwoThreadsAndReadsTheBatchInPlace() throws {
        // y = x Wᵀ of the MLP's first layer: x [128, 784], W [512, 784].
        let t = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true)))
        #expect((t.mr, t.nr, t.wide) == (12, 32, false))
        #expect(t.readsAInPlace && !t.readsBInPlace && t.prefetchesNextPanel)
        #expect((t.kBlocks, t.kc, t.kBlocksPerGroup) == (2, 392, 2))
        #expect((t.nc, t.mc, t.rowBlocks) == (512, 36, 4))
        #expect((t.workers, t.columnRanges, t.rowShares) == (2, 2, 1))
    }

    @Test func mlpWeightGradientSplitsOnlyRowsEachThreadOnItsOwnShare() throws {
        // ∂W = gᵀ x: g [128, 512] transposed, x [128, 784]; B is small, so the rows split.
        let t = try #require(tiling(GEMMProblem(m: 512, n: 784, k: 128, transA: true, transB: false)))
        #expect(!t.readsAInPlace && !t.readsBInPlace)
        #expect((t.kBlocks, t.kc) == (1, 128))
        #expect((t.mc, t.rowBlocks) == (36, 15))
        #expect((t.workers, t.columnRanges, t.rowShares) == (2, 1, 2))
    }

    @Test func aLayerWithTheLargerWeightSplitsOnlyRows() throws {
        // yᵀ = W xᵀ with W [512, 784] as A (m ≥ 2n): each thread reads its own rows of W.
        let t = try #require(tiling(GEMMProblem(m: 512, n: 128, k: 784, transA: false, transB: true)))
        #expect(t.readsAInPlace)
        #expect((t.workers, t.columnRanges, t.rowShares) == (2, 1, 2))
        #expect(t.rowBlocks == 15)
    }

    @Test func squareProductsOfALargeAShareTheBPanelsFromOneCounter() throws {
        // 1024²: A is 4 MiB with rows 4 KiB apart: packed, rows only, one counter, one K block.
        let t1 = try #require(tiling(GEMMProblem(m: 1024, n: 1024, k: 1024, transA: false, transB: false)))
        #expect(!t1.readsAInPlace && !t1.readsBInPlace)
        #expect((t1.kBlocks, t1.kc, t1.nc, t1.mc, t1.rowBlocks) == (1, 1024, 1024, 72, 15))
        #expect((t1.workers, t1.columnRanges, t1.rowShares) == (2, 1, 1))
        // 2048²: two K blocks of 1024, all of B packed in one column block.
        let t2 = try #require(tiling(GEMMProblem(m: 2048, n: 2048, k: 2048, transA: false, transB: false)))
        #expect((t2.kBlocks, t2.kc, t2.kBlocksPerGroup, t2.nc) == (2, 1024, 2, 2048))
        #expect((t2.mc, t2.rowBlocks, t2.columnRanges, t2.rowShares) == (132, 16, 1, 1))
        // 4096²: packed B past 32 MiB splits into two column blocks.
        let t4 = try #require(tiling(GEMMProblem(m: 4096, n: 4096, k: 4096, transA: false, transB: false)))
        #expect((t4.kBlocks, t4.kBlocksPerGroup, t4.nc, t4.mc) == (4, 4, 2048, 192))
    }

    @Test func logitsOfTenColumnsAreDotProductsOfRows() {
        let logits = GEMMProblem(m: 128, n: 10, k: 512, transA: false, transB: true)
        #expect(GEMMPlan(logits, dtype: .float32, on: avx512x2) == .narrow(parallel: true))
        #expect(GEMMPlan(logits, dtype: .float32, on: GEMMMachine(level: 1, threads: 2)) == .narrow(parallel: true))
        #expect(GEMMPlan(logits, dtype: .float32, on: GEMMMachine(level: 2, threads: 1)) == .narrow(parallel: false))
        // The portable level too (the same lanes in the same order: the plan never depends on the level).
        #expect(GEMMPlan(logits, dtype: .float32, on: GEMMMachine(level: 0, threads: 2)) == .narrow(parallel: true))
        // Shallow products and Float64 keep the register tiles.
        #expect(tiling(GEMMProblem(m: 128, n: 10, k: 8, transA: false, transB: true)) != nil)
        #expect(tiling(logits, dtype: .float64) != nil)
    }

    @Test func aRowsAMultipleOf4KiBApartArePackedOtherwiseReadInPlace() throws {
        let aligned = try #require(tiling(GEMMProblem(m: 256, n: 256, k: 1024, transA: false, transB: false)))
        #expect(!aligned.readsAInPlace)
        let padded = try #require(tiling(GEMMProblem(m: 256, n: 256, k: 1024, transA: false, transB: false, lda: 1030)))
        #expect(padded.readsAInPlace)
        let rowTable = try #require(tiling(GEMMProblem(m: 256, n: 256, k: 1024, transA: false, transB: false,
                                                       aRowTable: true)))
        #expect(rowTable.readsAInPlace)
        // The settings override the rule; transposed A and the portable level always pack.
        let forced = try #require(tiling(GEMMProblem(m: 256, n: 256, k: 1024, transA: false, transB: false),
                                         on: GEMMMachine(level: 2, threads: 2, aInPlace: true)))
        #expect(forced.readsAInPlace)
        let off = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true),
                                      on: GEMMMachine(level: 2, threads: 2, aInPlace: false)))
        #expect(!off.readsAInPlace)
        let avx2 = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true),
                                       on: GEMMMachine(level: 1, threads: 2)))
        #expect(avx2.readsAInPlace && (avx2.mr, avx2.nr) == (6, 16))
        let portable = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true),
                                           on: GEMMMachine(level: 0, threads: 2)))
        #expect(!portable.readsAInPlace && (portable.mr, portable.nr) == (4, 16))
    }

    @Test func bIsReadInPlaceOnlyWhereOneRowBlockReadsItsPanelsAndThenNothingIsPrefetched() throws {
        let small = GEMMProblem(m: 32, n: 32, k: 32, transA: false, transB: false)
        let t = try #require(tiling(small))
        #expect(t.rowBlocks == 1 && t.readsBInPlace && !t.prefetchesNextPanel)
        #expect(t.workers == 1)   // 32³ is below the parallel threshold
        let off = try #require(tiling(small, on: GEMMMachine(level: 2, threads: 2, bInPlace: false)))
        #expect(!off.readsBInPlace && off.prefetchesNextPanel)
        let transposed = try #require(tiling(GEMMProblem(m: 32, n: 32, k: 32, transA: false, transB: true)))
        #expect(!transposed.readsBInPlace)
        let manyRowBlocks = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 512, transA: false, transB: false)))
        #expect(manyRowBlocks.rowBlocks == 4 && !manyRowBlocks.readsBInPlace)
    }

    @Test func theWideTileIsChosenWhereItPadsLess() throws {
        let t = try #require(tiling(GEMMProblem(m: 64, n: 96, k: 256, transA: false, transB: false)))
        #expect((t.mr, t.nr, t.wide) == (8, 48, true))
        let tie = try #require(tiling(GEMMProblem(m: 64, n: 256, k: 512, transA: false, transB: false)))
        #expect((tie.mr, tie.nr, tie.wide) == (12, 32, false))
    }

    @Test func oneThreadGivesOneWorkerAndLargerRowBlocks() throws {
        let t = try #require(tiling(GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true),
                                    on: GEMMMachine(level: 2, threads: 1)))
        #expect((t.workers, t.columnRanges, t.rowShares, t.mc, t.rowBlocks) == (1, 1, 1, 72, 2))
    }

    @Test func kBlocksDependOnlyOnKAndTheScalarType() throws {
        let problem = GEMMProblem(m: 128, n: 512, k: 784, transA: false, transB: true)
        var seen: Set<[Int]> = []
        for level in 0...2 {
            for threads in [1, 2, 8] {
                let t = try #require(tiling(problem, on: GEMMMachine(level: level, threads: threads)))
                seen.insert([t.kBlocks, t.kc])
            }
        }
        #expect(seen == [[2, 392]])
        let d = try #require(tiling(problem, dtype: .float64))
        #expect((d.kBlocks, d.kc, d.mr, d.nr, d.readsAInPlace) == (4, 196, 12, 16, false))
    }

    @Test func theCachesBoundTheRowsOfABlockOfAButNeverTheKBlocks() throws {
        // Deep k (K blocks of 1024): a 512 KiB L2 (AMD Zen 3) holds 96 rows of 1024 floats in 3/4 of it.
        let deep = GEMMProblem(m: 2048, n: 2048, k: 2048, transA: false, transB: false)
        let big = try #require(tiling(deep, on: GEMMMachine(level: 1, threads: 2)))
        let small = try #require(tiling(deep, on: GEMMMachine(level: 1, threads: 2, l2Bytes: 512 << 10, l3Bytes: 8 << 20)))
        #expect(big.mc > 96 && small.mc <= 96)
        #expect((small.kBlocks, small.kc) == (big.kBlocks, big.kc))
        // A small L3 packs less of B at once (more column blocks), never other K blocks.
        #expect(small.nc * small.kBlocksPerGroup * small.kc * 4 <= 8 << 20)
        for level in 0...2 {
            for l2 in [256 << 10, 512 << 10, 1 << 20, 2 << 20] {
                let t = try #require(tiling(deep, on: GEMMMachine(level: level, threads: 2, l2Bytes: l2, l3Bytes: l2 * 16)))
                #expect((t.kBlocks, t.kc) == (2, 1024))
            }
        }
    }

    @Test func degenerateProductsNeedNoTiles() {
        let m = avx512x2
        #expect(GEMMPlan(GEMMProblem(m: 0, n: 5, k: 3, transA: false, transB: false), dtype: .float32, on: m) == .empty)
        #expect(GEMMPlan(GEMMProblem(m: 4, n: 5, k: 0, transA: false, transB: false), dtype: .float32, on: m) == .scale)
        #expect(GEMMPlan(GEMMProblem(m: 4, n: 5, k: 3, transA: false, transB: false, alphaIsZero: true),
                         dtype: .float32, on: m) == .scale)
        #expect(GEMMPlan(GEMMProblem(m: 1, n: 500, k: 300, transA: false, transB: false), dtype: .float32, on: m) == .gemv)
        #expect(GEMMPlan(GEMMProblem(m: 500, n: 1, k: 300, transA: true, transB: false), dtype: .float64, on: m) == .gemv)
        // A row table keeps a single row on the tiles.
        if case .tiles = GEMMPlan(GEMMProblem(m: 1, n: 500, k: 300, transA: false, transB: false, bRowTable: true),
                                  dtype: .float32, on: m) {} else { Issue.record("a row table's single row is not tiled") }
    }
}

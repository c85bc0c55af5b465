import ArgumentParser
import Neural

/// (a) float32 square SGEMM, C = A·B, N in 256…2048; GFLOP/s = 2N³/t (peers: bench_sgemm.py).
struct SGEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm", abstract: "float32 square C = A·B; GFLOP/s = 2N³/t.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Comma-separated sizes N.")
    var sizes: String = "256,512,1024,2048"

    @Option(help: """
        Comma-separated general shapes MxNxK:XY instead of squares (X, Y: N or T for op(A), op(B)); \
        e.g. the MLP bench's 128x512x784:NT (forward), 128x512x512:NN (∂x), 512x784x128:TN (∂W).
        """)
    var shapes: String?

    func run() throws {
        try options.apply()
        let g = RandomGenerator(seed: 0)
        if let shapes {
            for spec in shapes.split(separator: ",").map(String.init) {
                let parts = spec.split(separator: ":")
                let dims = parts[0].split(separator: "x").compactMap { Int($0) }
                let flags = parts.count > 1 ? Array(parts[1].uppercased()) : ["N", "N"]
                guard dims.count == 3, dims.allSatisfy({ $0 > 0 }), flags.count == 2,
                      flags.allSatisfy({ $0 == "N" || $0 == "T" }) else {
                    throw ValidationError("--shapes: '\(spec)' is not MxNxK:XY with X, Y in {N, T} (e.g. 128x512x784:NT)")
                }
                measure(spec, m: dims[0], n: dims[1], k: dims[2], transA: flags[0] == "T", transB: flags[1] == "T", g)
            }
            return
        }
        for n in sizes.split(separator: ",").compactMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
            measure("N=\(n)", m: n, n: n, k: n, transA: false, transB: false, g)
        }
    }

    /// Times C = op(A)·op(B) of one shape (row-major operands, leading dimensions as stored). The
    /// operands are Neural tensors, so they live where a user's matrices do (tensor storage of at
    /// least 4 MiB is on 2 MiB pages: 1024² and 2048² 1.02–1.03× over plain 4 KiB pages).
    private func measure(_ name: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool, _ g: RandomGenerator) {
        // Stored shapes: A [m, k] or, transposed, [k, m]; B [k, n] or [n, k]; C [m, n].
        let ta = Tensor.randn(transA ? [k, m] : [m, k], generator: g)
        let tb = Tensor.randn(transB ? [n, k] : [k, n], generator: g)
        var tc = Tensor.zeros([m, n])
        ta.withUnsafeScalars(as: Float.self) { a in tb.withUnsafeScalars(as: Float.self) { b in
            tc.withUnsafeMutableScalars(as: Float.self) { c in
                run(name, m: m, n: n, k: k) {
                    BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                              a: a.baseAddress!, lda: transA ? m : k, b: b.baseAddress!, ldb: transB ? k : n,
                              beta: 0, c: c.baseAddress!, ldc: n)
                }
            }
        } }
    }

    /// Times `product` (an m × n × k product) with the bench protocol, or as an A/B run with `--ab-in-place`.
    private func run(_ name: String, m: Int, n: Int, k: Int, _ product: () -> Void) {
        if options.abInPlace {
            let inner = Bench.calibrate(target: 0.02, product)
            Bench.compareInPlace("sgemm \(name) threads=\(options.threads)", pairs: 40,
                                  work: 2 * Double(m) * Double(n) * Double(k) * Double(inner) / 1e9, unit: "GFLOP/s") {
                for _ in 0..<inner { product() }
            }
            return
        }
        Bench.measure(bench: "sgemm", threads: options.threads, case: name, reps: options.reps,
                      work: 2 * Double(m) * Double(n) * Double(k) / 1e9, unit: "GFLOP/s", product)
    }
}

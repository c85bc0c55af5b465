import ArgumentParser
import Neural

/// (a) float32 square SGEMM, C = A·B, N in 256…2048; GFLOP/s = 2N³/t (peers: bench_sgemm.py).
struct SGEMMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm", abstract: "float32 square C = A·B; GFLOP/s = 2N³/t.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Comma-separated sizes N.")
    var sizes: String = "256,512,1024,2048"

    func run() throws {
        try options.apply()
        let ns = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        var rng = BenchRandom(seed: 0)
        for n in ns {
            let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            defer { a.deallocate(); b.deallocate(); c.deallocate() }
            for i in 0..<n * n { a[i] = Float(rng.normal()) }
            for i in 0..<n * n { b[i] = Float(rng.normal()) }
            c.initialize(repeating: 0, count: n * n)
            Bench.measure(bench: "sgemm", threads: options.threads, case: "N=\(n)", reps: options.reps,
                          work: 2 * Double(n) * Double(n) * Double(n) / 1e9, unit: "GFLOP/s") {
                BLAS.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1,
                          a: a, lda: n, b: b, ldb: n, beta: 0, c: c, ldc: n)
            }
        }
    }
}

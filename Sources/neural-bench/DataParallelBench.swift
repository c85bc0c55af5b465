import ArgumentParser
import Foundation
import Neural

/// Data-parallel training throughput: the `mlp` case's 784-512-512-10 MLP (SGD, lr 0.1) on
/// synthetic data, global batch `--batch` split over the ranks of ``ProcessGroup/world``
/// (`mpirun -np N neural-bench ddp`, built with the `MPI` trait; one process otherwise). Each
/// rank uses `--threads` threads and is not pinned here (let `mpirun` bind ranks to cores).
/// Rank 0 prints one RESULT line: `value` is the median global samples/s over `reps` repeats of
/// `steps` steps, with the allreduce time per step (`allreduce_ms`), the part of it the training
/// thread waited for (`exposed_ms`, less than `allreduce_ms` when it overlaps backward) and
/// `exposed_ms` as a share of the step (`comm_share`).
struct DataParallelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ddp", abstract: "Data-parallel MLP 784-512-512-10 training over the MPI ranks (mpirun -np N neural-bench ddp).")

    @Option(help: "Kernel threads per rank.")
    var threads = 1
    @Option(help: "Global batch (split evenly over the ranks).")
    var batch = 128
    @Option(help: "Steps per timed repeat.")
    var steps = 100
    @Option(help: "Timed repeats.")
    var reps = 5
    @Option(help: "Warm-up steps.")
    var warm = 10
    @Option(help: "Allreduce bucket size, MiB.")
    var bucketMb = 4.0
    @Flag(inversion: .prefixedNo, help: "Start allreduces during the backward pass.")
    var overlap = true

    func run() throws {
        let group = ProcessGroup.world
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard batch % group.size == 0 else { throw ValidationError("--batch \(batch) must be divisible by the \(group.size) ranks") }
        Runtime.threads = threads
        let (din, h, dout, n) = (784, 512, 10, 60_000)
        let local = batch / group.size
        let g = RandomGenerator(seed: 0)
        let (x, y) = Bench.syntheticData([n, din], classes: dout, generator: g)
        let model = Bench.mlp(din, hidden: h, outputs: dout, generator: g)
        let optimizer = SGD(model.parameters, learningRate: 0.1)
        let dp = group.size > 1 ? DataParallel(model: model, group: group, bucketBytes: Int(bucketMb * 1_048_576), overlap: overlap) : nil
        let batches = n / batch
        var position = 0
        func step() {
            let start = (position % batches) * batch + group.rank * local
            position += 1
            let xb = x[start..<(start + local)]
            let yb = Array(y[start..<(start + local)])
            optimizer.zeroGrad()
            let loss = crossEntropyLoss(logits: model(xb), labels: yb)
            if let dp {
                dp.backward(loss, weight: 1 / Double(group.size))
                dp.synchronize(weight: 1 / Double(group.size))
            } else {
                loss.backward()
            }
            optimizer.step()
        }
        for _ in 0..<warm { step() }
        var rates: [Double] = [], allreduce: [Double] = [], exposed: [Double] = [], stepMs: [Double] = []
        for _ in 0..<reps {
            group.barrier()
            dp?.resetStatistics()
            let t0 = Bench.now()
            for _ in 0..<steps { step() }
            group.barrier()
            let t = Bench.now() - t0
            rates.append(Double(steps * batch) / t)
            stepMs.append(t / Double(steps) * 1e3)
            let s = dp?.statistics ?? DataParallel.Statistics()
            allreduce.append(s.allreduceSeconds / Double(steps) * 1e3)
            exposed.append(s.exposedSeconds / Double(steps) * 1e3)
        }
        guard group.isRoot else { return }
        let m = Bench.median, f = { (v: Double) in String(format: "%.3f", v) }
        let s = dp?.statistics ?? DataParallel.Statistics()
        print("RESULT bench=ddp_train lib=neural case=784-512-512-10_bs\(batch) ranks=\(group.size) backend=\(group.backendName) "
              + "threads=\(threads) isa=\(Runtime.kernelLevel) overlap=\(dp?.overlapsBackward ?? false) buckets=\(s.buckets) mb_per_step=\(f(Double(s.bytesPerStep) / 1e6)) "
              + "value=\(String(format: "%.0f", m(rates))) unit=samples/s step_ms=\(f(m(stepMs))) allreduce_ms=\(f(m(allreduce))) "
              + "exposed_ms=\(f(m(exposed))) comm_share=\(f(m(exposed) / m(stepMs))) rates=\(rates.map { String(format: "%.0f", $0) }.joined(separator: ","))")
    }
}

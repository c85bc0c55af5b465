import ArgumentParser
import Neural

/// Issue 27's tensor ops and layers, forward+backward (gradients reset between calls), Float32:
/// reflect pad 1 of 32×64×56×56, bilinear ×2 upsampling of 32×64×28×28, adaptive average pooling of
/// 32×256×14×14 to 3×3, RMSNorm over 4096×1024, and einsum "bhqd,bhkd->bhqk" on 8×8×256×64.
/// Scripts/bench_tensor_ops.py times torch on the same shapes. Protocol: calibrate to ~0.1 s per
/// repeat, 1 warm-up repeat, 7 timed repeats (`--quick`: 3); median milliseconds per call.
struct TensorOpsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensorops", abstract: "pad, upsample, adaptive pooling, RMSNorm and einsum, forward+backward.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        func input(_ shape: [Int], _ seed: UInt64) -> Tensor {
            var x = Tensor.randn(shape, generator: RandomGenerator(seed: seed))
            x.requiresGrad = true
            return x
        }
        func measure(_ name: String, _ x: [Tensor], _ f: ([Tensor]) -> Tensor) {
            let dy = withNoGrad { Tensor.randn(f(x).shape, generator: RandomGenerator(seed: 99)) }
            func body() {
                for t in x { t.zeroGrad() }
                f(x).backward(dy)
            }
            let inner = Bench.calibrate(target: 0.1, body)
            Bench.waitIdle()
            let (times, meter) = Bench.timeRepeats(reps: options.reps, warmup: 1) {
                for _ in 0..<inner { body() }
            }
            Bench.report(bench: "tensorops", threads: options.threads, case: name, times: times, meter: meter,
                         work: nil, perRepeat: Double(inner), unit: "ms", extra: "inner=\(inner)")
        }
        measure("pad_reflect_32x64x56x56", [input([32, 64, 56, 56], 1)]) { $0[0].padded([1, 1, 1, 1], mode: .reflect) }
        measure("upsample_bilinear2x_32x64x28x28", [input([32, 64, 28, 28], 2)]) {
            $0[0].upsampled(scaleFactor: [2], mode: .bilinear, alignCorners: false)
        }
        measure("adaptiveavgpool3x3_32x256x14x14", [input([32, 256, 14, 14], 3)]) { $0[0].adaptiveAvgPool2d(3) }
        let rms = RMSNorm(1024)
        measure("rmsnorm_4096x1024", [input([4096, 1024], 4)]) { rms($0[0]) }
        measure("einsum_bhqd_bhkd_8x8x256x64", [input([8, 8, 256, 64], 5), input([8, 8, 256, 64], 6)]) {
            Tensor.einsum("bhqd,bhkd->bhqk", $0[0], $0[1])
        }
    }
}

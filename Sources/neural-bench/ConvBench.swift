import ArgumentParser
import Neural

/// The peers' CNN layer shapes (batch 64): conv 3×3 1→32 on 28×28 and 32→64 on 26×26, Float32,
/// forward alone and forward + backward (∂J/∂W, ∂J/∂b, and ∂J/∂x for the second layer, which is
/// not the input layer). `value` is milliseconds per call; `gflops` counts 2·N·C′·H′W′·C·k² per
/// GEMM-equivalent pass (forward 1, backward 1 or 2).
struct ConvBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv", abstract: "conv2d 3×3 forward and forward+backward at the peers' CNN shapes (batch 64).")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        layer("conv1_1to32_28x28", c: 1, cout: 32, side: 28, inputGrad: false)
        layer("conv2_32to64_26x26", c: 32, cout: 64, side: 26, inputGrad: true)
        pool()
    }

    private func layer(_ name: String, c: Int, cout: Int, side: Int, inputGrad: Bool) {
        let g = RandomGenerator(seed: 1)
        let n = 64, out = side - 2
        var x = Tensor.uniform([n, c, side, side], generator: g)
        var w = Tensor.uniform([cout, c, 3, 3], low: -0.1, high: 0.1, generator: g)
        var b = Tensor.zeros([cout])
        x.requiresGrad = inputGrad
        w.requiresGrad = true
        b.requiresGrad = true
        let v = Tensor.ones([n, cout, out, out])
        let pass = 2.0 * Double(n * cout * out * out * c * 9)
        Bench.measure(bench: "conv", threads: options.threads, case: name + "_fwd", reps: options.reps,
                      work: nil, unit: "ms") {
            _ = withNoGrad { x.conv2d(w, bias: b) }
        }
        Bench.measure(bench: "conv", threads: options.threads, case: name + "_fwd_bwd", reps: options.reps,
                      work: nil, unit: "ms") {
            let y = x.conv2d(w, bias: b)
            y.backward(v)
            w.zeroGrad(); b.zeroGrad(); x.zeroGrad()
        }
        print("# \(name): forward \(String(format: "%.3g", pass / 1e9)) GFLOP, backward \(String(format: "%.3g", pass * (inputGrad ? 2 : 1) / 1e9)) GFLOP")
    }

    private func pool() {
        var x = Tensor.uniform([64, 64, 24, 24], generator: RandomGenerator(seed: 2))
        x.requiresGrad = true
        let v = Tensor.ones([64, 64, 12, 12])
        Bench.measure(bench: "conv", threads: options.threads, case: "maxpool2x2_64x64x24x24_fwd_bwd", reps: options.reps,
                      work: nil, unit: "ms") {
            x.maxPool2d(kernelSize: 2).backward(v)
            x.zeroGrad()
        }
    }
}

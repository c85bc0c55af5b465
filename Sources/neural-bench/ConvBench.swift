import ArgumentParser
import Neural

/// The peers' CNN layer shapes (batch 64): conv 3×3 1→32 on 28×28 and 32→64 on 26×26, Float32,
/// forward alone and forward + backward (∂J/∂W, ∂J/∂b, and ∂J/∂x for the second layer, which is
/// not the input layer); then a MobileNet-style depthwise 3×3 on 32 × 56 × 56, a grouped 3×3
/// (64 → 64 channels in 4 groups on 28 × 28) and a ConvTranspose2d 64 → 32 (kernel 4, stride 2,
/// padding 1: 14 × 14 → 28 × 28), batch 32, with all three gradients (Scripts/peers/bench_conv.py
/// is PyTorch's side). `value` is milliseconds per call.
struct ConvBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv", abstract: "conv2d 3×3 forward and forward+backward at the peers' CNN shapes (batch 64).")

    @OptionGroup var options: BenchOptions

    @Option(help: "Run only the cases whose name contains this text (e.g. convT, dw3x3), for profiling.")
    var only = ""

    @Flag(help: "Also time forward + backward with only ∂J/∂x and with only ∂J/∂W (cases …_bwd_dx, …_bwd_dw).")
    var parts = false

    func run() throws {
        try options.apply()
        if selected("conv1_1to32_28x28") { layer("conv1_1to32_28x28", c: 1, cout: 32, side: 28, inputGrad: false) }
        if selected("conv2_32to64_26x26") { layer("conv2_32to64_26x26", c: 32, cout: 64, side: 26, inputGrad: true) }
        if selected("maxpool2x2_64x64x24x24") { pool() }
        timed("dw3x3_c32_56x56_b32", x: [32, 32, 56, 56], w: [32, 1, 3, 3], bias: 32) { x, w, b in
            x.conv2d(w, bias: b, padding: (1, 1), groups: 32)
        }
        timed("grouped3x3_g4_c64_28x28_b32", x: [32, 64, 28, 28], w: [64, 16, 3, 3], bias: 64) { x, w, b in
            x.conv2d(w, bias: b, padding: (1, 1), groups: 4)
        }
        for (ci, co, side, n) in [(64, 32, 14, 32), (128, 64, 16, 32), (256, 128, 8, 64), (64, 3, 32, 32), (32, 1, 14, 64)] {
            timed("convT4x4s2_c\(ci)to\(co)_\(side)to\(2 * side)_b\(n)", x: [n, ci, side, side], w: [ci, co, 4, 4], bias: co) { x, w, b in
                x.convTranspose2d(w, bias: b, stride: (2, 2), padding: (1, 1))
            }
        }
    }

    /// Whether `--only` selects the case `name`.
    private func selected(_ name: String) -> Bool { only.isEmpty || name.contains(only) }

    /// Forward alone and forward + backward (input, weight and bias gradients) of `op`.
    private func timed(_ name: String, x shape: [Int], w wShape: [Int], bias: Int,
                       _ op: (Tensor, Tensor, Tensor) -> Tensor) {
        guard selected(name) else { return }
        let g = RandomGenerator(seed: 3)
        var x = Tensor.uniform(shape, generator: g)
        var w = Tensor.uniform(wShape, low: -0.1, high: 0.1, generator: g)
        var b = Tensor.zeros([bias])
        x.requiresGrad = true
        w.requiresGrad = true
        b.requiresGrad = true
        let v = Tensor.ones(withNoGrad { op(x, w, b) }.shape)
        Bench.measure(bench: "conv", threads: options.threads, case: name + "_fwd", reps: options.reps, work: nil, unit: "ms") {
            _ = withNoGrad { op(x, w, b) }
        }
        Bench.measure(bench: "conv", threads: options.threads, case: name + "_fwd_bwd", reps: options.reps, work: nil, unit: "ms") {
            op(x, w, b).backward(v)
            w.zeroGrad(); b.zeroGrad(); x.zeroGrad()
        }
        guard parts else { return }
        for (suffix, inputGrad) in [("_fwd_bwd_dx", true), ("_fwd_bwd_dw", false)] {
            x.requiresGrad = inputGrad
            w.requiresGrad = !inputGrad
            b.requiresGrad = false
            Bench.measure(bench: "conv", threads: options.threads, case: name + suffix, reps: options.reps, work: nil, unit: "ms") {
                op(x, w, b).backward(v)
                w.zeroGrad(); x.zeroGrad()
            }
        }
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

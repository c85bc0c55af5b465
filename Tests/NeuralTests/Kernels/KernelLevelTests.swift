import CNeuralKernels
import Foundation
import Testing
import Neural

// The kernel-level cap (NEURAL_ISA, Runtime.kernelLevelCap, Runtime.withKernelLevelCap) and the
// promise that every kernel gives the same bits at every level this machine has.

/// The levels this CPU can run, lowest first (portable always).
let machineKernelLevels = KernelLevel.allCases.filter { $0 <= Runtime.cpuKernelLevel }

@Suite("Kernel level cap")
struct KernelLevelCapTests {
    @Test func namesRoundTripAndUnknownNamesAreNil() {
        for level in KernelLevel.allCases {
            #expect(KernelLevel(name: level.description) == level)
            #expect(KernelLevel(name: level.description.uppercased()) == level)
            #expect(Int(nk_parse_level(level.description)) == level.rawValue)
        }
        #expect(KernelLevel(name: "sse4") == nil)
        #expect(nk_parse_level("sse4") == -2)
        #expect(nk_parse_level("native") == -1)
        #expect(nk_parse_level("") == -1)
    }

    @Test func scopedCapLowersTheLevelOnlyWithinItsScopeAndNeverRaisesIt() {
        let before = Runtime.kernelLevel
        #expect(before <= Runtime.cpuKernelLevel)
        for level in KernelLevel.allCases {
            Runtime.withKernelLevelCap(level) {
                #expect(Runtime.kernelLevel == min(level, before))
                // Nested caps: the inner one holds inside, never above what the CPU has.
                Runtime.withKernelLevelCap(.portable) { #expect(Runtime.kernelLevel == .portable) }
                #expect(Runtime.kernelLevel == min(level, before))
            }
        }
        #expect(Runtime.kernelLevel == before)
    }

    @Test func workerPoolJobsRunUnderTheCallersCap() {
        for level in machineKernelLevels {
            var seen = [Int32](repeating: -1, count: 64)
            Runtime.withKernelLevelCap(level) {
                seen.withUnsafeMutableBufferPointer { buffer in
                    // Each task spins a little (so that a worker joins), then records its thread's level.
                    nk_pool_run({ ctx, t in
                        var spin = 0.0
                        for i in 0..<20_000 { spin += Double(i).squareRoot() }
                        ctx.unsafelyUnwrapped.assumingMemoryBound(to: Int32.self)[t] = spin < 0 ? -1 : nk_cpu_level()
                    }, buffer.baseAddress, 64, 2)
                }
            }
            // The caller's level under the cap (lower than `level` where NEURAL_ISA caps the process).
            let callers = Runtime.withKernelLevelCap(level) { Runtime.kernelLevel }
            #expect(seen.allSatisfy { Int($0) == callers.rawValue }, "\(level) (caller at \(callers)): \(seen)")
        }
    }

    @Test func processWideCapIsReadBackAndNilRemovesIt() {
        let saved = Runtime.kernelLevelCap
        defer { Runtime.kernelLevelCap = saved }
        Runtime.kernelLevelCap = .avx512
        #expect(Runtime.kernelLevelCap == .avx512)
        #expect(Runtime.kernelLevel <= Runtime.cpuKernelLevel)
        Runtime.kernelLevelCap = nil
        #expect(Runtime.kernelLevelCap == nil)
    }
}

/// Runs a built executable with `NEURAL_ISA` set.
private func runTool(_ tool: URL, _ arguments: [String], isa: String, in directory: URL) throws -> NeuralTool.Result {
    try NeuralTool.run(program: tool, arguments, in: directory, environment: ["NEURAL_ISA": isa])
}

@Suite("NEURAL_ISA in the tool", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct KernelLevelToolTests {
    @Test func unknownLevelIsAnErrorNamingTheVariable() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runTool(NeuralTool.executable!, ["summary", "--model", "mlp(8)", "--input-shape", "4", "--outputs", "2"],
                            isa: "sse4", in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("neural: ") && r.stderr.contains("NEURAL_ISA=sse4"), "stderr: \(r.stderr)")
    }

    /// Each level trains the default spirals run to the very same weights and optimizer state, and the header
    /// names the level in force (the variable is honoured).
    @Test func everyLevelTrainsTheSameCheckpoint() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var weights: [KernelLevel: [String: [UInt64]]] = [:]
        for level in machineKernelLevels {
            let r = try runTool(NeuralTool.executable!, ["train", "--epochs", "3", "--checkpoint", "\(level).safetensors"],
                                isa: level.description, in: dir)
            #expect(r.status == 0, "stderr: \(r.stderr)")
            #expect(r.stdout.contains(", \(level) kernels"), "stdout: \(r.stdout)")
            // The tensors' bits (weights and optimizer state), not the files' bytes: each save names its
            // state file with a fresh id, so the files differ in that metadata alone.
            weights[level] = try KillResumeTests.bits(Checkpoint.load(from: dir.appendingPathComponent("\(level).safetensors")))
        }
        for level in machineKernelLevels where level != .portable {
            #expect(weights[level] == weights[.portable], "\(level) weights or optimizer state differ from portable")
        }
    }
}

/// The bit patterns of `t` (Float32).
private func bits(_ t: Tensor) -> [UInt32] { t.scalars(as: Float.self).map(\.bitPattern) }

/// Runs `body` at every level the machine has and expects the same bits as at the portable level.
func expectSameBitsAtEveryLevel(_ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                                        _ body: () -> [[UInt32]]) {
    let reference = Runtime.withKernelLevelCap(.portable) { body() }
    for level in machineKernelLevels where level != .portable {
        let got = Runtime.withKernelLevelCap(level) { body() }
        #expect(got.count == reference.count, sourceLocation: sourceLocation)
        for (k, (g, r)) in zip(got, reference).enumerated() {
            let first = g.indices.first { $0 < r.count && g[$0] != r[$0] }
            #expect(g == r, "\(what) output \(k) at \(level): first difference at element \(first.map(String.init) ?? "?") of \(g.count)",
                    sourceLocation: sourceLocation)
        }
    }
}

@Suite("Same bits at every kernel level")
struct KernelLevelBitsTests {
    /// LayerNorm forward and backward, affine rows of 1024 (the pipelined vector bodies) and of 200
    /// (masked tails), with several threads (rows split across them).
    @Test(arguments: [[64, 1024], [33, 200], [5, 64]])
    func layerNormForwardAndBackward(shape: [Int]) {
        expectSameBitsAtEveryLevel("layerNorm \(shape)") {
            Runtime.withThreads(2) {
                var x = Tensor.randn(shape, mean: 3, std: 2, generator: RandomGenerator(seed: 1))
                var w = Tensor.randn([shape[1]], generator: RandomGenerator(seed: 2))
                var b = Tensor.randn([shape[1]], generator: RandomGenerator(seed: 3))
                let g = Tensor.randn(shape, generator: RandomGenerator(seed: 4))
                x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
                let y = x.layerNorm(weight: w, bias: b)
                (y * g).sum().backward()
                return [bits(y), bits(x.grad!), bits(w.grad!), bits(b.grad!)]
            }
        }
    }

    @Test func softmaxAndCrossEntropyForwardAndBackward() {
        expectSameBitsAtEveryLevel("cross-entropy") {
            var logits = Tensor.randn([37, 10], std: 3, generator: RandomGenerator(seed: 5))
            logits.requiresGrad = true
            let labels = (0..<37).map { ($0 * 7) % 10 }
            let loss = crossEntropyLoss(logits: logits, labels: labels)
            loss.backward()
            return [bits(loss), bits(logits.grad!), bits(logits.softmax())]
        }
    }

    @Test func elementwiseFunctionsAndTheirGradients() {
        expectSameBitsAtEveryLevel("elementwise") {
            var x = Tensor.randn([1000 + 3], std: 4, generator: RandomGenerator(seed: 6))
            x.requiresGrad = true
            let outs = [x.exp(), x.tanh(), x.sigmoid(), x.gelu(), x.relu(), (x * 1.5 + 0.25).relu()]
            outs.reduce(Tensor(0.0)) { $0 + $1.sum() }.backward()
            return outs.map(bits) + [bits(x.grad!)]
        }
    }

    @Test func maxPoolingForwardAndBackward() {
        expectSameBitsAtEveryLevel("maxPool2d") {
            var x = Tensor.randn([2, 3, 13, 18], generator: RandomGenerator(seed: 7))
            x.requiresGrad = true
            let y = x.maxPool2d(kernelSize: 2)
            (y * y).sum().backward()
            return [bits(y), bits(x.grad!)]
        }
    }

    /// The elementwise layer loops (relu(ax+b) with and without streaming stores, bias + ReLU by
    /// columns and by rows, the ReLU mask, the SGD update) on odd lengths with NaN, ±0 and ±inf.
    @Test func layerLoopsOnOddLengthsAndSpecialValues() {
        let n = 1000 + 13
        var x = (0..<n).map { Float(sin(Double($0) * 0.37) * 3) }
        x[3] = .nan; x[5] = -0.0; x[7] = .infinity; x[11] = -.infinity; x[900] = .nan
        let bias = (0..<n).map { Float(cos(Double($0))) }
        expectSameBitsAtEveryLevel("layer loops") {
            var out: [[UInt32]] = []
            for stream: Int32 in [0, 1] {
                for relu: Int32 in [0, 1] {
                    var y = [Float](repeating: 7, count: n + 1)
                    y.withUnsafeMutableBufferPointer { nk_axpb_act_f32(x, $0.baseAddress! + 1, Int(n), 1.5, -0.25, relu, stream) }
                    out.append(y.map(\.bitPattern))
                }
            }
            var cols = x, rows = x, grad = [Float](repeating: 0, count: n), p = bias
            nk_bias_act_cols_f32(&cols, bias, 1, 1013, 1013, 1)
            nk_bias_act_rows_f32(&rows, bias, 1013 / 17, 17, 17, 1)
            nk_relu_grad_f32(&grad, bias, x, Int(n))
            nk_sgd_f32(&p, x, 0.1, Int(n))
            return out + [cols, rows, grad, p].map { $0.map(\.bitPattern) }
        }
    }
}

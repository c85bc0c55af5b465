import ArgumentParser
import Foundation
import Neural

/// Mirrors the peers' `bench_gpt.py`: the character GPT (vocabulary 84, context 128, 4 blocks of 4
/// heads, d 128, exact GELU, untied head; 0.82M parameters), AdamW (lr 1e-3, betas (0.9, 0.99),
/// weight decay 0.01), batches of 32 × 128 synthetic tokens uniform in 0..<84 (16 batches, cycled).
///
/// - `train_bs32_T128`: training steps (forward, mean next-token cross-entropy, backward, AdamW);
///   WARM warm-up steps, then REPS timed repeats of STEPS steps (5, 5, 20; `--quick`: 2, 3, 5); tokens/s.
/// - `fwd_bs32_T128`: the inference forward (evaluation mode, no graph) of one batch; tokens/s.
/// - `gen_prompt8`, `gen_prompt120`: greedy generation with the KV cache after a prompt of 8 or 120
///   tokens (8 new tokens each, within the context); milliseconds per new token.
///
/// `--profile` also prints the median time per step of each phase: embedding and blocks (forward),
/// head and loss, backward, optimizer.
struct GPTBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt", abstract: "Character GPT training, inference and generation, as bench_gpt.py.")

    @OptionGroup var options: BenchOptions
    @Flag(help: "Print the time of each phase of a training step.")
    var profile = false

    func run() throws {
        try options.apply()
        let (v, ctx, b) = (84, 128, 32)
        let (steps, reps, warm) = options.quick ? (5, 3, 2) : (20, 5, 5)
        let gpt = GPT(GPTConfig(vocabularySize: v, contextLength: ctx, layers: 4, heads: 4, embedDim: 128),
                      generator: RandomGenerator(seed: 0))
        let optimizer = AdamW(gpt.parameters, learningRate: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.01)
        var random = BenchRandom(seed: 0)
        let batches = (0..<16).map { _ -> (Tensor, [Int]) in
            let tokens = (0..<(b * (ctx + 1))).map { _ in Int(random.next() % UInt64(v)) }
            var x = [Int](), y = [Int]()
            for r in 0..<b {
                x += tokens[(r * (ctx + 1))..<(r * (ctx + 1) + ctx)]
                y += tokens[(r * (ctx + 1) + 1)..<((r + 1) * (ctx + 1))]
            }
            return (Tensor(integers: x, shape: [b, ctx]), y)
        }
        var counter = 0, lastLoss = Double.nan
        var phases = [[Double]](repeating: [], count: 4)
        func step() {
            let (x, y) = batches[counter % batches.count]
            counter += 1
            optimizer.zeroGrad()
            let t0 = Bench.now()
            let logits = gpt(x)
            let t1 = Bench.now()
            let loss = crossEntropyLoss(logits: logits.reshaped([b * ctx, v]), labels: y)
            let t2 = Bench.now()
            loss.backward()
            let t3 = Bench.now()
            optimizer.step()
            let t4 = Bench.now()
            if profile { for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3].enumerated() { phases[i].append(d) } }
            lastLoss = loss.item()
        }
        for _ in 0..<warm { step() }
        phases = phases.map { _ in [] }
        Bench.waitIdle()
        let (times, meter) = Bench.timeRepeats(reps: reps, warmup: 0) { for _ in 0..<steps { step() } }
        Bench.report(bench: "gpt", threads: options.threads, case: "train_bs\(b)_T\(ctx)", times: times, meter: meter,
                     work: Double(steps * b * ctx), unit: "tokens/s",
                     extra: "steps_per_rep=\(steps) loss_end=\(String(format: "%.4f", lastLoss)) params=\(gpt.parameterCount)")
        if profile {
            let names = ["forward", "loss", "backward", "optimizer"]
            print("profile: " + zip(names, phases).map { "\($0.0) " + String(format: "%.2f ms", Bench.median($0.1) * 1e3) }.joined(separator: ", "))
        }

        gpt.eval()
        let x0 = batches[0].0
        let infer = { _ = withNoGrad { gpt(x0) } }
        let inner = Bench.calibrate(target: 0.2, infer)
        Bench.waitIdle()
        let (ftimes, fmeter) = Bench.timeRepeats(reps: reps, warmup: 1) { for _ in 0..<inner { infer() } }
        Bench.report(bench: "gpt", threads: options.threads, case: "fwd_bs\(b)_T\(ctx)", times: ftimes.map { $0 / Double(inner) },
                     meter: fmeter, work: Double(b * ctx), unit: "tokens/s", extra: "inner=\(inner)")

        for promptLength in [8, 120] {
            let prompt = Array(batches[1].1.prefix(promptLength))
            let newTokens = 8
            Bench.waitIdle()
            let (gtimes, gmeter) = Bench.timeRepeats(reps: reps, warmup: 1) {
                // Time the new tokens only: the prompt's pass is timed separately and subtracted.
                _ = gpt.generate(prompt: prompt, count: newTokens, temperature: 0)
            }
            let (ptimes, _) = Bench.timeRepeats(reps: reps, warmup: 1) { _ = gpt.generate(prompt: prompt, count: 1, temperature: 0) }
            let perToken = gtimes.map { ($0 - Bench.median(ptimes)) / Double(newTokens - 1) }
            Bench.report(bench: "gpt", threads: options.threads, case: "gen_prompt\(promptLength)", times: perToken, meter: gmeter,
                         work: nil, unit: "ms", extra: "new_tokens=\(newTokens) prompt_ms=\(String(format: "%.2f", Bench.median(ptimes) * 1e3))")
        }
    }
}

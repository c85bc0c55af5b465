import Foundation
import Neural
import Testing

/// A GPT of the fixture's sizes in `dtype`, holding the fixture's parameters (a strict load by name).
private func fixtureGPT(_ c: TorchFixture.Case, dtype: DType) -> GPT {
    let config = GPTConfig(vocabularySize: c.int("vocab"), contextLength: c.int("context"), layers: c.int("layers"),
                           heads: c.int("heads"), embedDim: c.int("dim"))
    let gpt = GPT(config, dtype: dtype, generator: RandomGenerator(seed: 1))
    let names = gpt.namedParameters().map(\.name)
    let torchNames = c.tensors.keys.filter { $0.hasPrefix("param.") }.map { String($0.dropFirst(6)) }
    #expect(names.sorted() == torchNames.sorted(), "GPT parameter names differ from the reference's")
    var tensors: [String: Tensor] = [:]
    for name in torchNames { tensors[name] = c.tensor("param." + name).to(dtype) }
    #expect(throws: Never.self) { _ = try Checkpoint(tensors: tensors).apply(to: gpt, strict: true) }
    return gpt
}

/// Token ids of a fixture tensor (stored as Float64).
private func ids(_ t: Tensor) -> Tensor {
    Tensor(integers: t.scalars(as: Double.self).map { Int($0) }, shape: t.shape)
}

/// A small GPT in `dtype` from a seed.
private func smallGPT(dtype: DType = .float64, vocabulary: Int = 7, context: Int = 8, seed: UInt64 = 7) -> GPT {
    GPT(GPTConfig(vocabularySize: vocabulary, contextLength: context, layers: 2, heads: 2, embedDim: 8), dtype: dtype,
        generator: RandomGenerator(seed: seed))
}

@Suite("GPT")
struct GPTTests {
    @Test func logitsAndParameterGradientsMatchTorch() {
        let c = TorchFixture.load("gpt").case("gpt_small")
        for dtype in [DType.float64, .float32] {
            let tolerance = dtype == .float64 ? 1e-10 : 1e-4
            let gpt = fixtureGPT(c, dtype: dtype)
            let logits = gpt(ids(c.tensor("ids")))
            expectNear(logits, c.tensor("logits"), "\(dtype) logits", tolerance: tolerance)
            (logits * c.tensor("g").to(dtype)).sum().backward()
            for (name, p) in gpt.namedParameters() {
                expectNear(p.grad, c.tensor("grad." + name), "\(dtype) grad.\(name)", tolerance: tolerance)
            }
            // The training objective: mean next-token cross-entropy over every position.
            gpt.zeroGrad()
            let v = c.int("vocab"), labels = c.tensor("labels").scalars(as: Double.self).map { Int($0) }
            let loss = crossEntropyLoss(logits: gpt(ids(c.tensor("ids"))).reshaped([labels.count, v]), labels: labels)
            loss.backward()
            expectNear(loss.reshaped([1]), c.tensor("loss"), "\(dtype) loss", tolerance: tolerance)
            for (name, p) in gpt.namedParameters() {
                expectNear(p.grad, c.tensor("lossgrad." + name), "\(dtype) lossgrad.\(name)", tolerance: tolerance)
            }
        }
    }

    @Test func stateDictKeysAreTheReferenceLayout() {
        let gpt = GPT(GPTConfig(vocabularySize: 84), generator: RandomGenerator(seed: 3))
        let names = gpt.namedParameters().map(\.name)
        #expect(names.prefix(3) == ["wte.weight", "wpe.weight", "blocks.0.ln_1.weight"])
        #expect(names.suffix(4) == ["ln_f.weight", "ln_f.bias", "head.weight", "head.bias"])
        for part in ["ln_1", "attn_qkv", "attn_proj", "ln_2", "mlp_fc", "mlp_proj"] {
            #expect(names.contains("blocks.3.\(part).weight") && names.contains("blocks.3.\(part).bias"))
        }
        #expect(names.count == 2 + 4 * 12 + 4)
        #expect(gpt.parameterCount == gpt.config.parameterCount)
        #expect(gpt.parameterCount == 831_316)   // bench_gpt.py's model ("about 0.83M parameters")
    }

    @Test func parameterGradientsPassTheFloat64Check() {
        let gpt = GPT(GPTConfig(vocabularySize: 5, contextLength: 4, layers: 1, heads: 2, embedDim: 4), dtype: .float64,
                      generator: RandomGenerator(seed: 11))
        let tokens = Tensor(integers: [1, 4, 0, 2, 3, 3, 1, 0], shape: [2, 4])
        let parameters = gpt.parameters
        let initial = parameters.map { $0.value.detached() }
        expectGradientsMatch({ xs in
            for (p, v) in zip(parameters, xs) { p.value = v }
            return gpt(tokens)
        }, at: initial)
        for (p, v) in zip(parameters, initial) { p.value = v }
    }

    @Test func packedAttentionEqualsAttentionOnTheHeadViewsAndPassesTheGradientCheck() {
        let (b, t, heads, hd) = (2, 9, 3, 4), e = heads * hd
        var qkv = seededUniform([b, t, 3 * e], seed: 31)
        qkv.requiresGrad = true
        let g = seededUniform([b, t, e], seed: 32)
        let packed = qkv.packedCausalSelfAttention(heads: heads)
        (packed * g).sum().backward()
        let viaViews = { (x: Tensor) -> Tensor in
            let split = x.reshaped([b, t, 3, heads, hd]).permuted([2, 0, 3, 1, 4])
            return scaledDotProductAttention(split.select(axis: 0, 0), split.select(axis: 0, 1), split.select(axis: 0, 2), causal: true)
                .transposed(1, 2).reshaped([b, t, e])
        }
        var reference = qkv.detached()
        reference.requiresGrad = true
        let expected = viaViews(reference)
        (expected * g).sum().backward()
        expectNear(packed, expected.detached(), "packed attention", tolerance: 1e-13)
        expectNear(qkv.grad, reference.grad!, "packed attention gradient", tolerance: 1e-13)
        expectGradientsMatch({ $0[0].packedCausalSelfAttention(heads: heads) }, at: [qkv.detached()])
    }

    @Test func cachedLogitsEqualFullForwardLogits() {
        for dtype in [DType.float64, .float32] {
            let gpt = smallGPT(dtype: dtype).eval()
            let sequence = [3, 1, 4, 1, 5, 2, 6, 0]
            let full = withNoGrad { gpt(Tensor(integers: sequence, shape: [1, 8])) }
            let cache = GPTCache(gpt)
            var rows = [withNoGrad { gpt(Tensor(integers: Array(sequence[0..<3]), shape: [1, 3]), cache: cache) }]
            for t in 3..<8 { rows.append(withNoGrad { gpt(Tensor(integers: [sequence[t]], shape: [1, 1]), cache: cache) }) }
            #expect(cache.count == 8)
            let cached = Tensor.concatenate(rows, axis: 1)
            expectNear(cached, full.to(.float64), "\(dtype) cached logits", tolerance: dtype == .float64 ? 1e-12 : 1e-5)
        }
    }

    @Test func greedyGenerationEqualsArgmaxOfTheCroppedFullForward() {
        let gpt = smallGPT()
        var sequence = [2, 5, 1]
        for _ in 0..<12 {   // the reference's loop: crop to the context, full forward, argmax of the last row
            let window = Array(sequence.suffix(8))
            let logits = withNoGrad { gpt(Tensor(integers: window, shape: [1, window.count])) }
            let last = logits.select(axis: 1, window.count - 1).reshaped([7])
            sequence.append(last.argmax(axis: 0).scalars(as: Int.self)[0])
        }
        var streamed: [Int] = []
        let produced = gpt.generate(prompt: [2, 5, 1], count: 12, temperature: 0) { streamed.append($0) }
        #expect(produced == Array(sequence.dropFirst(3)))
        #expect(streamed == produced)
        #expect(gpt.isTraining, "generate restores training mode")
    }

    @Test func samplingIsSeededAndTopOneIsGreedy() {
        let gpt = smallGPT()
        let a = gpt.generate(prompt: [1], count: 20, temperature: 1, generator: RandomGenerator(seed: 5))
        let b = gpt.generate(prompt: [1], count: 20, temperature: 1, generator: RandomGenerator(seed: 5))
        let c = gpt.generate(prompt: [1], count: 20, temperature: 1, generator: RandomGenerator(seed: 6))
        #expect(a == b && a != c)
        #expect(a.allSatisfy { (0..<7).contains($0) })
        let top1 = gpt.generate(prompt: [1], count: 20, temperature: 0.7, topK: 1, generator: RandomGenerator(seed: 5))
        #expect(top1 == gpt.generate(prompt: [1], count: 20, temperature: 0))
    }

    @Test func specParsesKeysAndNamesWhatIsWrong() throws {
        let c = try GPTConfig.parse("gpt(layers=2, heads=2,dim=64,context=32)", vocabularySize: 65)
        #expect(c == GPTConfig(vocabularySize: 65, contextLength: 32, layers: 2, heads: 2, embedDim: 64))
        #expect(c.description == "gpt(layers=2,heads=2,dim=64,context=32)")
        #expect(try GPTConfig.parse("GPT", vocabularySize: 84) == GPTConfig(vocabularySize: 84))
        #expect(try GPTConfig.parse(c.description, vocabularySize: 65) == c)
        for (bad, says) in [("gpt(layer=2)", "unknown key 'layer'"), ("gpt(dim=30,heads=4)", "divisible by heads=4"),
                            ("gpt(heads=0)", "positive integer"), ("gpt(dim)", "not key=value"), ("gpt(dim=8", "missing ')'"),
                            ("mlp(8)", "not a GPT spec")] {
            #expect(throws: GPTSpecError.self) { try GPTConfig.parse(bad, vocabularySize: 5) }
            do { _ = try GPTConfig.parse(bad, vocabularySize: 5) } catch { #expect(error.description.contains(says), "\(bad): \(error)") }
        }
    }

    @Test func warmupCosineIsTheReferenceSchedule() {
        // lr_at of train_gpt_shakespeare.py with 1000 steps.
        func reference(_ s: Int) -> Double {
            if s < 100 { return 1e-3 * Double(s + 1) / 100 }
            let p = Double(s - 100) / 900
            return 1e-4 + 0.5 * (1e-3 - 1e-4) * (1 + cos(Double.pi * p))
        }
        let schedule = LRSchedule.warmupCosine(warmup: 100, total: 1000, minimumFactor: 0.1)
        for s in [0, 1, 50, 99, 100, 101, 400, 999, 1000] {
            #expect(abs(schedule.learningRate(at: s, base: 1e-3) - reference(s)) < 1e-18, "step \(s)")
        }
    }
}

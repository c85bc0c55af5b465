import Foundation
import Neural
import Testing

/// A small character LSTM in `dtype` from a seed.
private func smallLSTM(dtype: DType = .float64, vocabulary: Int = 7, seed: UInt64 = 7) -> CharLSTM {
    CharLSTM(CharLSTMConfig(vocabularySize: vocabulary, hiddenSize: 12, layers: 2, embedDim: 6, contextLength: 8), dtype: dtype,
             generator: RandomGenerator(seed: seed))
}

@Suite("Character LSTM")
struct CharLSTMTests {
    @Test func specParsesKeysAndNamesWhatIsWrong() throws {
        let c = try CharLSTMConfig.parse("charlstm(hidden=64, layers=3,embed=16,context=32)", vocabularySize: 65)
        #expect(c == CharLSTMConfig(vocabularySize: 65, hiddenSize: 64, layers: 3, embedDim: 16, contextLength: 32))
        #expect(c.description == "charlstm(hidden=64,layers=3,embed=16,context=32)")
        #expect(try CharLSTMConfig.parse("CharLSTM", vocabularySize: 84) == CharLSTMConfig(vocabularySize: 84))
        #expect(try CharLSTMConfig.parse(c.description, vocabularySize: 65) == c)
        #expect(LanguageModelSpec.isSpec("charlstm(hidden=8)") && LanguageModelSpec.isSpec("gpt") && !LanguageModelSpec.isSpec("lstm(8)"))
        for (bad, says) in [("charlstm(hiden=2)", "unknown key 'hiden'"), ("charlstm(layers=0)", "positive integer"),
                            ("charlstm(hidden=-3)", "positive integer"), ("charlstm(embed)", "not key=value"),
                            ("charlstm(hidden=8", "missing ')'"), ("lstm(8)", "not a character-LSTM spec")] {
            #expect(throws: CharLSTMSpecError.self) { try CharLSTMConfig.parse(bad, vocabularySize: 5) }
            do { _ = try CharLSTMConfig.parse(bad, vocabularySize: 5) } catch { #expect(error.description.contains(says), "\(bad): \(error)") }
        }
        #expect(throws: CharLSTMSpecError.self) { _ = try LanguageModelSpec.make("mlp(8)", vocabularySize: 5) }
        let made = try LanguageModelSpec.make("charlstm(hidden=8,layers=1,embed=4,context=16)", vocabularySize: 5)
        #expect(made is CharLSTM && made.spec == "charlstm(hidden=8,layers=1,embed=4,context=16)" && made.contextLength == 16)
        #expect(try LanguageModelSpec.make("gpt(layers=1,heads=1,dim=8,context=4)", vocabularySize: 5) is GPT)
    }

    @Test func parametersHaveTorchNamesAndShapes() {
        let m = smallLSTM()
        let shapes = Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.name, $0.parameter.value.shape) })
        #expect(shapes["embed.weight"] == [7, 6] && shapes["head.weight"] == [7, 12] && shapes["head.bias"] == [7])
        #expect(shapes["lstm.weight_ih_l0"] == [48, 6] && shapes["lstm.weight_hh_l1"] == [48, 12] && shapes["lstm.bias_hh_l1"] == [48])
        #expect(shapes.count == 3 + 8)
    }

    @Test func logitsFedInPiecesWithTheCarriedStateEqualTheWholeSequence() {
        for dtype in [DType.float64, .float32] {
            let m = smallLSTM(dtype: dtype).eval()
            let sequence = [3, 1, 4, 1, 5, 2, 6, 0, 2, 2]
            let full = withNoGrad { m(Tensor(integers: sequence + sequence, shape: [2, 10])) }
            #expect(full.shape == [2, 10, 7])
            var (first, state) = withNoGrad { m(Tensor(integers: Array(sequence[0..<4]), shape: [1, 4]), state: nil) }
            var rows = [first]
            for t in 4..<10 {
                (first, state) = withNoGrad { m(Tensor(integers: [sequence[t]], shape: [1, 1]), state: state) }
                rows.append(first)
            }
            #expect(state.h.shape == [2, 1, 12] && state.c.shape == [2, 1, 12])
            let stepped = Tensor.concatenate(rows, axis: 1).to(.float64)
            expectNear(stepped, full.select(axis: 0, 1).unsqueezed(0).to(.float64), "\(dtype) stepped logits",
                       tolerance: dtype == .float64 ? 1e-12 : 1e-5)
        }
    }

    @Test func greedyGenerationWithTheCarriedStateEqualsRerunningTheWholePrefix() {
        let m = smallLSTM(dtype: .float32)
        var sequence = [2, 5, 1]
        for _ in 0..<20 {   // no state: the whole prefix again for every new token (longer than the context: 8)
            let logits = withNoGrad { m(Tensor(integers: sequence, shape: [1, sequence.count])) }
            let last = logits.select(axis: 1, sequence.count - 1).reshaped([7])
            sequence.append(last.argmax(axis: 0).scalars(as: Int.self)[0])
        }
        var streamed: [Int] = []
        let produced = m.generate(prompt: [2, 5, 1], count: 20, temperature: 0) { streamed.append($0) }
        #expect(produced == Array(sequence.dropFirst(3)))
        #expect(streamed == produced)
        #expect(m.isTraining, "generate restores training mode")
    }

    @Test func samplingIsSeededAndTopOneIsGreedy() {
        let m = smallLSTM()
        let a = m.generate(prompt: [1], count: 30, temperature: 1, generator: RandomGenerator(seed: 5))
        let b = m.generate(prompt: [1], count: 30, temperature: 1, generator: RandomGenerator(seed: 5))
        let c = m.generate(prompt: [1], count: 30, temperature: 1, generator: RandomGenerator(seed: 6))
        #expect(a == b && a != c)
        #expect(a.allSatisfy { (0..<7).contains($0) })
        let top1 = m.generate(prompt: [1], count: 30, temperature: 0.7, topK: 1, generator: RandomGenerator(seed: 5))
        #expect(top1 == m.generate(prompt: [1], count: 30, temperature: 0))
    }

    @Test func aFewAdamStepsLowerTheNextCharacterLoss() {
        // A periodic sequence: its next character is predictable from the previous ones.
        let pattern = [0, 1, 2, 3, 4, 5, 6, 3, 1]
        let tokens = (0..<4).flatMap { b in (0..<12).map { pattern[($0 + 2 * b) % pattern.count] } }
        let m = smallLSTM(dtype: .float32, seed: 3)
        let ids = Tensor(integers: tokens.enumerated().filter { $0.offset % 12 < 11 }.map(\.element), shape: [4, 11])
        let targets = tokens.enumerated().filter { $0.offset % 12 > 0 }.map(\.element)
        let optimizer = Adam(m.trainableParameters, learningRate: 0.02)
        func loss() -> Tensor { crossEntropyLoss(logits: m(ids).reshaped([44, 7]), labels: targets) }
        let before = withNoGrad { loss().scalars(as: Double.self)[0] }
        for _ in 0..<40 {
            optimizer.zeroGrad()
            loss().backward()
            optimizer.step()
        }
        let after = withNoGrad { loss().scalars(as: Double.self)[0] }
        #expect(after < 0.5 * before, "loss \(before) → \(after)")
    }
}

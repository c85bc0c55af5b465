import Neural
import Testing

@Suite("LSTM and GRU match torch.nn.LSTM and torch.nn.GRU (recurrent.json)")
struct RecurrentTests {
    let fixture = TorchFixture.load("recurrent")

    /// The layer a fixture case describes, its parameters loaded from the case by torch's names.
    static func make(_ c: TorchFixture.Case, dtype: DType) -> Module {
        let (i, h, l) = (c.int("input"), c.int("hidden"), c.int("layers"))
        let (bi, bf, bias) = (c.int("bidirectional") == 1, c.int("batch_first") == 1, c.int("bias") == 1)
        let m: Module = c.string("kind") == "lstm"
            ? LSTM(inputSize: i, hiddenSize: h, numLayers: l, bias: bias, batchFirst: bf, bidirectional: bi, dtype: dtype)
            : GRU(inputSize: i, hiddenSize: h, numLayers: l, bias: bias, batchFirst: bf, bidirectional: bi, dtype: dtype)
        for (name, p) in m.namedParameters() { p.value = c.tensor("param." + name).to(dtype) }
        return m
    }

    @Test(arguments: [DType.float32, .float64])
    func outputsFinalStatesInputAndEveryParameterGradientMatchTorch(dtype: DType) {
        let tolerance = dtype == .float32 ? 1e-5 : 1e-10
        #expect(fixture.cases.count == 6)
        for c in fixture.cases {
            let m = Self.make(c, dtype: dtype)
            #expect(m.namedParameters().map(\.name).joined(separator: ",") == c.string("parameters"), "\(c.name)")
            var x = c.tensor("x").to(dtype)
            x.requiresGrad = true
            let hasState = c.int("initial_state") == 1
            var h0 = hasState ? c.tensor("h0").to(dtype) : Tensor(0)
            var c0 = hasState && c.string("kind") == "lstm" ? c.tensor("c0").to(dtype) : Tensor(0)
            h0.requiresGrad = hasState
            c0.requiresGrad = hasState && c.string("kind") == "lstm"
            var loss: Tensor
            let out: Tensor, hn: Tensor
            if let lstm = m as? LSTM {
                let r = lstm(x, initialState: hasState ? (h0, c0) : nil)
                (out, hn) = (r.output, r.state.h)
                #expect(maxAbsDifference(r.state.c.to(.float64), c.tensor("c_n")) <= tolerance, "\(c.name) c_n")
                loss = (r.state.c * c.tensor("wc").to(dtype)).sum()
            } else {
                let r = (m as! GRU)(x, initialState: hasState ? h0 : nil)
                (out, hn) = (r.output, r.state)
                loss = Tensor(0, dtype: dtype)
            }
            #expect(maxAbsDifference(out.to(.float64), c.tensor("out")) <= tolerance, "\(c.name) output")
            #expect(maxAbsDifference(hn.to(.float64), c.tensor("h_n")) <= tolerance, "\(c.name) h_n")
            loss = loss + (out * c.tensor("w").to(dtype)).sum() + (hn * c.tensor("wh").to(dtype)).sum()
            loss.backward()
            #expect(maxAbsDifference(x.grad!.to(.float64), c.tensor("grad_x")) <= tolerance, "\(c.name) grad x")
            if hasState {
                #expect(maxAbsDifference(h0.grad!.to(.float64), c.tensor("grad_h0")) <= tolerance, "\(c.name) grad h0")
                if c.string("kind") == "lstm" {
                    #expect(maxAbsDifference(c0.grad!.to(.float64), c.tensor("grad_c0")) <= tolerance, "\(c.name) grad c0")
                }
            }
            for (name, p) in m.namedParameters() {
                #expect(maxAbsDifference(p.grad!.to(.float64), c.tensor("grad." + name)) <= tolerance, "\(c.name) grad \(name)")
            }
        }
    }

    /// A 2-layer bidirectional network in Float64 whose inputs are x, the initial states and every
    /// parameter; returns output, h_n (and c_n) flattened into one vector.
    static func gradientCheck(lstm: Bool, batchFirst: Bool) -> GradientCheckReport {
        let g = RandomGenerator(seed: 77)
        let m: Module = lstm
            ? LSTM(inputSize: 3, hiddenSize: 2, numLayers: 2, batchFirst: batchFirst, bidirectional: true, dtype: .float64, generator: g)
            : GRU(inputSize: 3, hiddenSize: 2, numLayers: 2, batchFirst: batchFirst, bidirectional: true, dtype: .float64, generator: g)
        let params = m.parameters
        let x = Tensor.randn(batchFirst ? [2, 4, 3] : [4, 2, 3], dtype: .float64, generator: g)
        let h0 = Tensor.randn([4, 2, 2], dtype: .float64, generator: g), c0 = Tensor.randn([4, 2, 2], dtype: .float64, generator: g)
        let states = lstm ? [h0, c0] : [h0]
        return checkGradients(of: { z in
            for (k, p) in params.enumerated() { p.value = z[states.count + 1 + k] }
            if let l = m as? LSTM {
                let r = l(z[0], initialState: (z[1], z[2]))
                return Tensor.concatenate([r.output.reshaped([-1]), r.state.h.reshaped([-1]), r.state.c.reshaped([-1])])
            }
            let r = (m as! GRU)(z[0], initialState: z[1])
            return Tensor.concatenate([r.output.reshaped([-1]), r.state.reshaped([-1])])
        }, at: [x] + states + params.map(\.value))
    }

    @Test(arguments: [true, false])
    func float64GradientCheckOfLSTMThroughTimeInputsStatesAndParameters(batchFirst: Bool) {
        let report = Self.gradientCheck(lstm: true, batchFirst: batchFirst)
        #expect(report.passed, "\(report)")
        #expect(report.checked > 200)
    }

    @Test(arguments: [true, false])
    func float64GradientCheckOfGRUThroughTimeInputsStatesAndParameters(batchFirst: Bool) {
        let report = Self.gradientCheck(lstm: false, batchFirst: batchFirst)
        #expect(report.passed, "\(report)")
        #expect(report.checked > 150)
    }

    @Test(arguments: ["lstm", "gru"])
    func forwardAndBackwardAreTheSameBitsAtOneAndTwoThreads(kind: String) {
        // Batch 64 × hidden 96: the rows split between threads, the GEMMs too.
        func run() -> [Tensor] {
            let g = RandomGenerator(seed: 12)
            let m: Module = kind == "lstm"
                ? LSTM(inputSize: 40, hiddenSize: 96, numLayers: 2, batchFirst: true, bidirectional: true, generator: g)
                : GRU(inputSize: 40, hiddenSize: 96, numLayers: 2, batchFirst: true, bidirectional: true, generator: g)
            var x = Tensor.randn([64, 15, 40], generator: g)
            x.requiresGrad = true
            let y = (m as! any Layer)(x)
            (y * Tensor.randn(y.shape, generator: g)).sum().backward()
            return [y, x.grad!] + m.parameters.map { $0.grad! }
        }
        let one = Runtime.withThreads(1) { run() }
        let two = Runtime.withThreads(2) { run() }
        #expect(one.count == two.count)
        for (a, b) in zip(one, two) { expectBitIdentical(a, b) }
    }

    @Test func shapesUnbatchedInputsAndTorchNamesForEveryLayout() {
        let lstm = LSTM(inputSize: 5, hiddenSize: 3, numLayers: 2, batchFirst: true, bidirectional: true)
        #expect(lstm.namedParameters().map(\.name).prefix(5) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"])
        #expect(lstm.parameter("weight_ih_l1")!.shape == [12, 6] && lstm.parameter("bias_hh_l1_reverse")!.shape == [12])
        let r = lstm(Tensor.randn([4, 7, 5]), initialState: nil)
        #expect(r.output.shape == [4, 7, 6] && r.state.h.shape == [4, 4, 3] && r.state.c.shape == [4, 4, 3])
        let u = lstm(Tensor.randn([7, 5]), initialState: (Tensor.zeros([4, 3]), Tensor.zeros([4, 3])))
        #expect(u.output.shape == [7, 6] && u.state.h.shape == [4, 3])
        let gru = GRU(inputSize: 5, hiddenSize: 3, bias: false)
        #expect(gru.namedParameters().map(\.name) == ["weight_ih_l0", "weight_hh_l0"])
        #expect(gru(Tensor.randn([7, 2, 5])).shape == [7, 2, 3])
        #expect(gru.parameter("weight_hh_l0")!.shape == [9, 3])
    }

    @Test func dropoutActsBetweenLayersOnlyInTrainingMode() {
        let m = LSTM(inputSize: 4, hiddenSize: 8, numLayers: 2, dropout: 0.5, generator: RandomGenerator(seed: 3))
        let x = Tensor.randn([6, 2, 4], generator: RandomGenerator(seed: 4))
        let train1 = m(x), train2 = m(x)
        m.eval()
        let eval1 = m(x), eval2 = m(x)
        #expect(maxAbsDifference(train1, train2) > 1e-4)    // fresh masks each call
        expectBitIdentical(eval1, eval2)
        #expect(maxAbsDifference(train1, eval1) > 1e-4)
    }

    @Test func specTokensBuildBatchFirstLayersOnSequencesAndCountTheirParameters() throws {
        let spec = try ModelSpec.parse("BiLSTM(8, layers=2, dropout=0.2) gru(5) flatten")
        #expect(spec.description == "bilstm(8,layers=2,dropout=0.2) gru(5) flatten")
        #expect(try spec.outputShape(inputShape: [6, 4], outputSize: nil) == [30])
        let model = try spec.build(inputShape: [6, 4], outputSize: 3, generator: RandomGenerator(seed: 1))
        let lstm = try #require(model.layers[0] as? LSTM)
        #expect(lstm.batchFirst && lstm.bidirectional && lstm.numLayers == 2 && lstm.hiddenSize == 8 && lstm.inputSize == 4)
        #expect((model.layers[1] as? GRU)?.inputSize == 16)
        #expect(try spec.memoryEstimate(inputShape: [6, 4], outputSize: 3).parameters == Double(model.parameterCount))
        #expect(model(Tensor.randn([2, 6, 4])).shape == [2, 3])
        #expect(throws: ModelSpecError.self) { try ModelSpec.parse("flatten lstm(4)").build(inputShape: [6, 4], outputSize: 3) }
    }
}

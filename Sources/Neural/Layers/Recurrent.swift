/// Recurrent layers: ``LSTM`` and ``GRU`` (PyTorch's `nn.LSTM` and `nn.GRU`: several layers,
/// both directions, `batch_first`, dropout between layers, torch's parameter names and layout),
/// and their spec tokens `lstm`, `bilstm`, `gru`, `bigru`.
///
/// Each layer and direction computes its input projections for all steps with one GEMM, then runs
/// the recurrence as one fused operation (`Ops/LSTMRecurrence.swift`, `Ops/GRURecurrence.swift`)
/// whose backward is backpropagation through time.

/// The parameters of a stack of recurrent layers in torch's order and names: for each layer l and
/// direction, `weight_ih_l{l}` `[gates·hidden, in]`, `weight_hh_l{l}` `[gates·hidden, hidden]`,
/// `bias_ih_l{l}`, `bias_hh_l{l}` `[gates·hidden]`, with the suffix `_reverse` for the backward
/// direction; all uniform in ±1/√hidden as torch initialises them.
struct RecurrentStack {
    /// Gate blocks per step: 4 for the LSTM, 3 for the GRU.
    let gates: Int
    let inputSize: Int, hiddenSize: Int, numLayers: Int, directions: Int, hasBias: Bool
    /// `(weight_ih, weight_hh, bias_ih, bias_hh)` for layer l, direction d at index l·directions + d.
    let cells: [(ih: Parameter, hh: Parameter, bih: Parameter?, bhh: Parameter?)]
    /// Every parameter with its torch name.
    let named: [(name: String, parameter: Parameter)]

    init(kind: String, gates: Int, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, dropout: Double,
         bidirectional: Bool, dtype: DType, generator: RandomGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0 && numLayers > 0,
                     "Neural: \(kind)(inputSize: \(inputSize), hiddenSize: \(hiddenSize), numLayers: \(numLayers)) needs positive sizes")
        precondition(dropout >= 0 && dropout <= 1, "Neural: \(kind) dropout must be in [0, 1], got \(dropout)")
        self.gates = gates
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.directions = bidirectional ? 2 : 1
        self.hasBias = bias
        let bound = 1 / Double(hiddenSize).squareRoot()
        func make(_ shape: [Int]) -> Parameter {
            Parameter(.uniform(shape, low: -bound, high: bound, dtype: dtype, generator: generator))
        }
        var cells: [(ih: Parameter, hh: Parameter, bih: Parameter?, bhh: Parameter?)] = []
        var named: [(name: String, parameter: Parameter)] = []
        for l in 0..<numLayers {
            for d in 0..<directions {
                let suffix = "_l\(l)" + (d == 1 ? "_reverse" : "")
                let layerInput = l == 0 ? inputSize : directions * hiddenSize
                let ih = make([gates * hiddenSize, layerInput]), hh = make([gates * hiddenSize, hiddenSize])
                let bih = bias ? make([gates * hiddenSize]) : nil, bhh = bias ? make([gates * hiddenSize]) : nil
                cells.append((ih, hh, bih, bhh))
                named += [("weight_ih" + suffix, ih), ("weight_hh" + suffix, hh)]
                if let bih, let bhh { named += [("bias_ih" + suffix, bih), ("bias_hh" + suffix, bhh)] }
            }
        }
        self.cells = cells
        self.named = named
    }

    /// Runs every layer over `x` `[steps, batch, inputSize]`: each direction's input projections
    /// (one GEMM), then `cell(xproj, index, reverse)`, which returns that direction's hidden states
    /// `[steps, batch, hidden]` and its final states (h_n, and c_n for the LSTM, each `[batch, hidden]`).
    /// Directions are concatenated along the features and `dropout` applies between layers.
    /// Returns the last layer's output `[steps, batch, directions·hidden]` and each kind of final
    /// state stacked to `[layers·directions, batch, hidden]`.
    func run(_ x: Tensor, kind: String, dropout: Dropout?,
             cell: (_ xproj: Tensor, _ index: Int, _ reverse: Bool) -> (Tensor, [Tensor])) -> (Tensor, [Tensor]) {
        precondition(x.rank == 3 && x.shape[2] == inputSize && x.shape[0] > 0,
                     "Neural: \(kind) expects input [seq, batch, \(inputSize)] (or [batch, seq, \(inputSize)] with batchFirst, [seq, \(inputSize)] unbatched) with seq > 0, got \(x.shape)")
        var input = x
        var finals: [[Tensor]] = []
        for l in 0..<numLayers {
            var outputs: [Tensor] = []
            for d in 0..<directions {
                let index = l * directions + d, w = cells[index]
                let xproj = input.linear(weight: w.ih.value, bias: w.bih?.value)
                let (sequence, states) = cell(xproj, index, d == 1)
                outputs.append(sequence)
                finals.append(states)
            }
            input = outputs.count == 1 ? outputs[0] : Tensor.concatenate(outputs, axis: 2)
            if l < numLayers - 1, let dropout { input = dropout(input) }
        }
        let kinds = finals[0].count
        return (input, (0..<kinds).map { k in Tensor.stack(finals.map { $0[k] }, axis: 0) })
    }

    /// The input as `[seq, batch, features]` from `[seq, batch, F]`, `[batch, seq, F]` with
    /// `batchFirst`, or unbatched `[seq, F]`.
    static func timeMajor(_ x: Tensor, batchFirst: Bool) -> Tensor {
        if x.rank == 2 { return x.unsqueezed(1) }
        return batchFirst && x.rank == 3 ? x.transposed(0, 1) : x
    }

    /// The output back in the caller's layout (the inverse of ``timeMajor(_:batchFirst:)``).
    static func callerLayout(_ y: Tensor, input x: Tensor, batchFirst: Bool) -> Tensor {
        if x.rank == 2 { return y.squeezed(1) }
        return batchFirst ? y.transposed(0, 1) : y
    }

    /// An initial state `[layers·directions, batch, hidden]` (`[layers·directions, hidden]` for an
    /// unbatched input) checked against the input, as `[layers·directions, batch, hidden]`.
    func initialState(_ s: Tensor, name: String, kind: String, unbatched: Bool, batch: Int) -> Tensor {
        let expected = unbatched ? [numLayers * directions, hiddenSize] : [numLayers * directions, batch, hiddenSize]
        precondition(s.shape == expected, "Neural: \(kind) initial \(name) must be \(expected), got \(s.shape)")
        return unbatched ? s.unsqueezed(1) : s
    }

    /// `Kind(in, hidden[, layers n][, bidirectional][, no bias])`.
    func summary(_ kind: String) -> String {
        "\(kind)(\(inputSize), \(hiddenSize)" + (numLayers > 1 ? ", \(numLayers) layers" : "")
            + (directions == 2 ? ", bidirectional" : "") + (hasBias ? "" : ", no bias") + ")"
    }
}

/// What ``LSTM`` and ``GRU`` share: the stack of layers and directions with torch's parameter
/// names, `batch_first`, dropout between layers, and the sizes.
public class RecurrentLayer: Module {
    let stack: RecurrentStack
    /// Whether inputs and outputs are `[batch, seq, features]` (torch's `batch_first`).
    public let batchFirst: Bool
    /// Dropout on the outputs of every layer but the last, in training mode (nil when 0).
    let interLayerDropout: Dropout?

    /// `gates` blocks per step (4: LSTM, 3: GRU), torch's initialisation from `generator`.
    init(kind: String, gates: Int, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
         dropout: Double, bidirectional: Bool, dtype: DType, generator: RandomGenerator) {
        stack = RecurrentStack(kind: kind, gates: gates, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers,
                               bias: bias, dropout: dropout, bidirectional: bidirectional, dtype: dtype, generator: generator)
        self.batchFirst = batchFirst
        interLayerDropout = dropout > 0 && numLayers > 1 ? Dropout(dropout, generator: generator) : nil
        super.init()
    }

    /// Input features.
    public var inputSize: Int { stack.inputSize }
    /// Hidden state features per direction (the LSTM's cell state has as many).
    public var hiddenSize: Int { stack.hiddenSize }
    /// Stacked layers.
    public var numLayers: Int { stack.numLayers }
    /// Whether each layer also runs from the last step to the first.
    public var bidirectional: Bool { stack.directions == 2 }

    /// The parameter with torch's name (`weight_ih_l0`, `bias_hh_l1_reverse`, …), nil if none.
    public func parameter(_ name: String) -> Parameter? { stack.named.first { $0.name == name }?.parameter }

    /// The parameters in torch's order and names.
    public override var localParameters: [(name: String, parameter: Parameter)] { stack.named }
}

/// A multi-layer long short-term memory network, like `torch.nn.LSTM` (without `proj_size`).
/// Input `[seq, batch, inputSize]`, or `[batch, seq, inputSize]` with `batchFirst`, or unbatched
/// `[seq, inputSize]`; output `[seq, batch, D·hiddenSize]` in the same layout (D = 2 when
/// bidirectional), with final states h_n, c_n `[numLayers·D, batch, hiddenSize]`.
///
/// Per step (gates i, f, g, o in torch's order): a = W_ih x + b_ih + W_hh h + b_hh,
/// c′ = σ(a_f) ⊙ c + σ(a_i) ⊙ tanh(a_g), h′ = σ(a_o) ⊙ tanh(c′). Parameters carry torch's names and
/// layout (``RecurrentLayer/parameter(_:)``, ``Module/namedParameters()``): `weight_ih_l0` `[4·hidden, in]`,
/// `weight_hh_l0` `[4·hidden, hidden]`, `bias_ih_l0`, `bias_hh_l0` `[4·hidden]`, `…_reverse`.
///
/// ```swift
/// let lstm = LSTM(inputSize: 8, hiddenSize: 16, numLayers: 2, batchFirst: true, bidirectional: true)
/// let (y, state) = lstm(x, initialState: nil)     // x [4, 20, 8] → y [4, 20, 32], state.h [4, 4, 16]
/// ```
public final class LSTM: RecurrentLayer, Layer, SummarizableLayer {
    /// An LSTM `inputSize → hiddenSize` with `numLayers` layers, in torch's initialisation (all
    /// parameters uniform in ±1/√hiddenSize, drawn from `generator`). `dropout` is the probability
    /// of torch's dropout between layers (its masks drawn from `generator` too).
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, dtype: DType = .float32, generator: RandomGenerator = .default) {
        super.init(kind: "LSTM", gates: 4, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, dtype: dtype, generator: generator)
    }

    /// The output sequence alone (zero initial states): `[seq, batch, D·hidden]`
    /// (`[batch, seq, D·hidden]` with ``RecurrentLayer/batchFirst``).
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, initialState: nil).output }

    /// The output sequence and the final states, as torch's `output, (h_n, c_n) = lstm(x, (h0, c0))`.
    /// `initialState` h0, c0: `[numLayers·D, batch, hidden]` (`[numLayers·D, hidden]` unbatched);
    /// nil: zeros.
    public func callAsFunction(_ x: Tensor, initialState: (h: Tensor, c: Tensor)?)
        -> (output: Tensor, state: (h: Tensor, c: Tensor)) {
        let seq = RecurrentStack.timeMajor(x, batchFirst: batchFirst), hidden = hiddenSize
        let batch = seq.rank == 3 ? seq.shape[1] : 0
        let h0 = initialState.map { stack.initialState($0.h, name: "h0", kind: "LSTM", unbatched: x.rank == 2, batch: batch) }
        let c0 = initialState.map { stack.initialState($0.c, name: "c0", kind: "LSTM", unbatched: x.rank == 2, batch: batch) }
        let (y, finals) = stack.run(seq, kind: "LSTM", dropout: interLayerDropout) { xproj, i, reverse in
            let w = stack.cells[i]
            let hc = Tensor.lstmRecurrence(xproj, weightHH: w.hh.value, biasHH: w.bhh?.value, h0: h0?.select(axis: 0, i),
                                           c0: c0?.select(axis: 0, i), reverse: reverse)
            let last = hc.select(axis: 0, reverse ? 0 : hc.shape[0] - 1)
            return (hc.slice(axis: 2, 0..<hidden), [last.slice(axis: 1, 0..<hidden), last.slice(axis: 1, hidden..<(2 * hidden))])
        }
        let unbatched = x.rank == 2
        return (RecurrentStack.callerLayout(y, input: x, batchFirst: batchFirst),
                (unbatched ? finals[0].squeezed(1) : finals[0], unbatched ? finals[1].squeezed(1) : finals[1]))
    }

    /// `LSTM(in, hidden[, n layers][, bidirectional])`.
    package var summary: String { stack.summary("LSTM") }
}

/// A multi-layer gated recurrent unit network, like `torch.nn.GRU`. Shapes as ``LSTM``'s, with
/// one final state h_n `[numLayers·D, batch, hiddenSize]`.
///
/// Per step (gates r, z, n in torch's order): r = σ(W_ir x + b_ir + W_hr h + b_hr),
/// z = σ(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
/// h′ = (1 − z) ⊙ n + z ⊙ h. Parameters: `weight_ih_l0` `[3·hidden, in]`, `weight_hh_l0`
/// `[3·hidden, hidden]`, `bias_ih_l0`, `bias_hh_l0` `[3·hidden]`, `…_reverse`.
public final class GRU: RecurrentLayer, Layer, SummarizableLayer {
    /// A GRU `inputSize → hiddenSize` with `numLayers` layers, initialised as torch does (uniform
    /// in ±1/√hiddenSize from `generator`), with torch's `dropout` between layers.
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, dtype: DType = .float32, generator: RandomGenerator = .default) {
        super.init(kind: "GRU", gates: 3, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, dtype: dtype, generator: generator)
    }

    /// The output sequence alone (zero initial state): `[seq, batch, D·hidden]`
    /// (`[batch, seq, D·hidden]` with ``RecurrentLayer/batchFirst``).
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, initialState: nil).output }

    /// The output sequence and the final state, as torch's `output, h_n = gru(x, h0)`. `initialState`
    /// h0: `[numLayers·D, batch, hidden]` (`[numLayers·D, hidden]` unbatched); nil: zeros.
    public func callAsFunction(_ x: Tensor, initialState: Tensor?) -> (output: Tensor, state: Tensor) {
        let seq = RecurrentStack.timeMajor(x, batchFirst: batchFirst)
        let batch = seq.rank == 3 ? seq.shape[1] : 0
        let h0 = initialState.map { stack.initialState($0, name: "h0", kind: "GRU", unbatched: x.rank == 2, batch: batch) }
        let (y, finals) = stack.run(seq, kind: "GRU", dropout: interLayerDropout) { xproj, i, reverse in
            let w = stack.cells[i]
            let h = Tensor.gruRecurrence(xproj, weightHH: w.hh.value, biasHH: w.bhh?.value, h0: h0?.select(axis: 0, i), reverse: reverse)
            return (h, [h.select(axis: 0, reverse ? 0 : h.shape[0] - 1)])
        }
        return (RecurrentStack.callerLayout(y, input: x, batchFirst: batchFirst), x.rank == 2 ? finals[0].squeezed(1) : finals[0])
    }

    /// `GRU(in, hidden[, n layers][, bidirectional])`.
    package var summary: String { stack.summary("GRU") }
}

extension LayerKind {
    /// `lstm(h[,layers=n,dropout=p])` and `bilstm(…)`: an ``LSTM`` with `batchFirst` on a `[seq, E]`
    /// running shape, giving `[seq, h]` (`[seq, 2h]` bidirectional).
    static let lstm = RecurrentToken.kind(.lstm)
    /// `gru(h[,layers=n,dropout=p])` and `bigru(…)`: a ``GRU``, as `lstm`.
    static let gru = RecurrentToken.kind(.gru)
}

/// `lstm(h,layers=n,dropout=p)`, `bilstm`, `gru`, `bigru`.
struct RecurrentToken: LayerToken, Equatable {
    /// Which recurrent layer.
    enum Cell: String, Sendable { case lstm, gru }
    /// h.
    static let hidden = SpecParameter.size("hidden", "hidden size", required: true)
    /// n.
    static let layers = SpecParameter.size("layers", "number of layers")
    /// p.
    static let dropout = SpecParameter.number("dropout", "dropout between layers", in: 0...1)

    let cell: Cell
    let bidirectional: Bool
    let hidden: Int
    let layers: Int
    let dropout: Double

    /// The kind with the names `lstm`, `bilstm` (or `gru`, `bigru`).
    static func kind(_ cell: Cell) -> LayerKind {
        let name = cell.rawValue
        return LayerKind(names: [name, "bi" + name], usage: "\(name)(h,layers=n,dropout=p)",
                         parameters: [hidden, layers, dropout],
                         form: { n in "\(n)(h,layers=n,dropout=p), h the hidden size per direction on a [seq, features] input" }) { a in
            RecurrentToken(cell: cell, bidirectional: a.name.hasPrefix("bi"), hidden: a.integer(hidden)!,
                           layers: a.integer(layers) ?? 1, dropout: a.number(dropout) ?? 0)
        }
    }

    var description: String {
        (bidirectional ? "bi" : "") + cell.rawValue + "(\(hidden)" + (layers > 1 ? ",layers=\(layers)" : "")
            + (dropout > 0 ? ",dropout=\(ModelSpec.format(dropout))" : "") + ")"
    }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape
        guard s.count == 2 else {
            throw plan.error("\(plan.word) needs a [seq, features] input but the running shape is \(LayerPlan.text(s))",
                             hint: "feed it token embeddings (embed) or a [seq, features] input")
        }
        let d = bidirectional ? 2 : 1, g = cell == .lstm ? 4 : 3, h = hidden, n = layers, p = dropout, bi = bidirectional
        let first = Double(g * h * (s[1] + h + 2)), rest = Double(g * h * (d * h + h + 2))
        plan.add([s[0], d * h], parameters: Double(d) * (first + Double(n - 1) * rest)) { dtype, gen in
            switch cell {
            case .lstm: LSTM(inputSize: s[1], hiddenSize: h, numLayers: n, batchFirst: true, dropout: p, bidirectional: bi,
                             dtype: dtype, generator: gen)
            case .gru: GRU(inputSize: s[1], hiddenSize: h, numLayers: n, batchFirst: true, dropout: p, bidirectional: bi,
                           dtype: dtype, generator: gen)
            }
        }
    }
}

/// A set of parameters with its own learning rate and weight decay (PyTorch's `param_groups`):
/// an ``Optimizer`` created over `[ParameterGroup]` updates each group with its settings, and
/// with the optimiser's own where a group sets none. The schedule maps each group's rate.
///
/// ```swift
/// let model = Sequential.mlp([2, 64, 2])
/// let opt = AdamW(ParameterGroup.decayAndNoDecay(model.parameters), learningRate: 1e-3, weightDecay: 0.1)
/// // biases (rank 1) are not decayed; the weights [out, in] are, with λ = 0.1
/// ```
public struct ParameterGroup {
    /// The group's parameters, in order.
    public var parameters: [Parameter]
    /// The group's base learning rate (nil: the optimiser's ``Optimizer/learningRate``).
    public var learningRate: Double?
    /// The group's weight decay λ (nil: the optimiser's ``Optimizer/baseWeightDecay``).
    public var weightDecay: Double?

    /// A group of `parameters` with its own learning rate and weight decay where given.
    public init(_ parameters: [Parameter], learningRate: Double? = nil, weightDecay: Double? = nil) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// Two groups for the usual "no weight decay on biases and norms" recipe: the parameters of
    /// rank ≥ 2 (weight matrices `[out, in]`, convolution kernels, embedding tables) with the
    /// optimiser's weight decay, and those of rank ≤ 1 (biases and the scales and shifts of
    /// normalisation layers, `[features]`) with weight decay 0. Empty groups are left out; the
    /// order of the parameters within each group is kept.
    public static func decayAndNoDecay(_ parameters: [Parameter]) -> [ParameterGroup] {
        let decay = parameters.filter { $0.shape.count >= 2 }, noDecay = parameters.filter { $0.shape.count < 2 }
        return (decay.isEmpty ? [] : [ParameterGroup(decay)])
            + (noDecay.isEmpty ? [] : [ParameterGroup(noDecay, weightDecay: 0)])
    }
}

/// What an ``Optimizer`` is created over: the elements of a `[Parameter]` (all in one group) or of
/// a `[ParameterGroup]`.
public protocol ParameterGroupElement {
    /// The parameter groups that `elements` stand for.
    static func parameterGroups(_ elements: [Self]) -> [ParameterGroup]
}

/// The groups of `elements`, at least one (an empty list gives one empty group).
func parameterGroups<P: ParameterGroupElement>(of elements: [P]) -> [ParameterGroup] {
    let g = P.parameterGroups(elements)
    return g.isEmpty ? [ParameterGroup([])] : g
}

extension Parameter: ParameterGroupElement {
    /// One group holding all of `elements`.
    public static func parameterGroups(_ elements: [Parameter]) -> [ParameterGroup] { [ParameterGroup(elements)] }
}

extension ParameterGroup: ParameterGroupElement {
    /// The groups themselves.
    public static func parameterGroups(_ elements: [ParameterGroup]) -> [ParameterGroup] { elements }
}

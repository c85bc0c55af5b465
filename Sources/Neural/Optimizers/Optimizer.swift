/// The shared base of the optimisers: gradient descent θ := θ − α∇J(θ) (eq. 7.8) and its variants.
///
/// An optimiser holds references to ``Parameter``s; ``step()`` reads each parameter's accumulated
/// ``Parameter/grad`` and updates its value in place, without recording autodiff history. Frozen
/// parameters and parameters without a gradient are skipped (their state does not advance), as in
/// PyTorch. The learning rate of step t (counting from 0) is `schedule.learningRate(at: t, base:
/// learningRate)`, or `learningRate` without a schedule.
///
/// ```swift
/// let model = Sequential.mlp([2, 64, 2])
/// let opt = Adam(model.parameters, learningRate: 1e-2,
///                schedule: .linearWarmup(steps: 100).then(.cosine(steps: 900), after: 100))
/// for _ in 0..<1000 {
///     opt.zeroGrad()
///     crossEntropyLoss(logits: model(x), labels: y).backward()
///     opt.step()
/// }
/// ```
///
/// A new optimiser is a subclass that overrides one method,
/// ``update(_:gradient:state:learningRate:)``: it updates one parameter from its gradient and its
/// ``ParameterState``. The base class keeps the parameters, the learning rate, the schedule, the
/// step count and every parameter's state, so ``state`` exports and restores any optimiser's
/// state exactly (and ``Checkpoint`` saves it):
///
/// ```swift
/// final class SignDescent: Optimizer {
///     override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState,
///                          learningRate: Double) {
///         let m = 0.9 * (state.tensors["momentum_buffer"] ?? Tensor.zeros(like: value)) + 0.1 * gradient
///         state.tensors["momentum_buffer"] = m
///         value = value - learningRate * m.sign()
///     }
/// }
/// ```
open class Optimizer {
    /// The parameters updated by ``step()``, in order (the order of ``OptimizerState/parameters``):
    /// the groups' parameters one group after the other.
    public let parameters: [Parameter]
    /// The base learning rate α (of every group that sets none).
    public var learningRate: Double
    /// The weight decay λ of every group that sets none (0 for optimisers without weight decay).
    public let baseWeightDecay: Double
    /// The learning-rate schedule consulted at every step (`nil`: constant ``learningRate``); it
    /// maps each group's base rate.
    public var schedule: LRSchedule?
    /// Number of ``step()`` calls so far.
    public private(set) var stepCount = 0
    /// The parameter groups (PyTorch's `param_groups`), each with its own learning rate and
    /// weight decay when set.
    public private(set) var groups: [ParameterGroup]
    /// Per parameter, in ``parameters`` order: the index of its group.
    private let groupOfParameter: [Int]
    /// Per parameter, in ``parameters`` order: its update count and state tensors.
    private var parameterStates: [ParameterState]
    /// The weight decay λ of the parameter being updated: its group's, or ``baseWeightDecay``. Read
    /// it in ``update(_:gradient:state:learningRate:)``.
    public private(set) var groupWeightDecay: Double

    /// An optimiser over `parameters` — a `[Parameter]` (one group) or a `[ParameterGroup]` —
    /// with base learning rate `learningRate` and weight decay `weightDecay` for groups that set
    /// none.
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double, weightDecay: Double = 0,
                schedule: LRSchedule? = nil) {
        precondition(learningRate >= 0, "Neural: learning rate must be ≥ 0, got \(learningRate)")
        let groups = parameterGroups(of: parameters)
        for g in groups {
            if let lr = g.learningRate { precondition(lr >= 0, "Neural: a parameter group's learning rate must be ≥ 0, got \(lr)") }
        }
        self.groups = groups
        self.parameters = groups.flatMap(\.parameters)
        self.groupOfParameter = groups.enumerated().flatMap { i, g in Array(repeating: i, count: g.parameters.count) }
        self.learningRate = learningRate
        self.baseWeightDecay = weightDecay
        self.groupWeightDecay = weightDecay
        self.schedule = schedule
        self.parameterStates = Array(repeating: ParameterState(), count: self.parameters.count)
    }

    /// Each group's base learning rate (its own, or ``learningRate``), before the schedule.
    /// Setting it gives every group its own rate (``ReduceLROnPlateau`` lowers them this way).
    ///
    /// - Precondition (set): one rate ≥ 0 per group.
    public var groupLearningRates: [Double] {
        get { groups.map { $0.learningRate ?? learningRate } }
        set {
            precondition(newValue.count == groups.count && newValue.allSatisfy { $0 >= 0 },
                         "Neural: \(newValue.count) learning rates for \(groups.count) parameter groups (each needs one ≥ 0)")
            for i in groups.indices { groups[i].learningRate = newValue[i] }
        }
    }

    /// The learning rate the next ``step()`` will use for the first group.
    public var currentLearningRate: Double { currentLearningRates[0] }

    /// The learning rates the next ``step()`` will use, one per group (the schedule applied to
    /// each group's base rate).
    public var currentLearningRates: [Double] {
        groupLearningRates.map { schedule?.learningRate(at: stepCount, base: $0) ?? $0 }
    }

    /// Applies one update to every trainable parameter that has a gradient: increments the
    /// parameter's ``ParameterState/step``, then calls ``update(_:gradient:state:learningRate:)``
    /// with its group's learning rate (and ``groupWeightDecay`` set to its group's).
    public func step() {
        let rates = currentLearningRates
        withNoGrad {
            for (i, p) in parameters.enumerated() where !p.isFrozen {
                guard let g = p.grad else { continue }
                let gradient = g.dtype == p.value.dtype ? g : g.to(p.value.dtype)
                let group = groupOfParameter[i]
                groupWeightDecay = groups[group].weightDecay ?? baseWeightDecay
                // The state is moved out while it is updated, so its tensors are uniquely
                // referenced and can be written in place.
                var s = ParameterState()
                swap(&s, &parameterStates[i])
                s.step += 1
                update(&p.value, gradient: gradient, state: &s, learningRate: rates[group])
                parameterStates[i] = s
            }
        }
        groupWeightDecay = baseWeightDecay
        stepCount += 1
    }

    /// Clears the gradient of every parameter (call before each backward pass: gradients add up).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// The update rule: updates one parameter's value from its gradient and its state. Every
    /// optimiser overrides it; ``step()`` calls it for each trainable parameter with a gradient,
    /// without recording autodiff history.
    ///
    /// - Parameters:
    ///   - value: the parameter's value (any shape, e.g. a weight `[out, in]`), to update in place
    ///     or replace with a tensor of the same shape and dtype.
    ///   - gradient: ∂J/∂value, with `value`'s shape and dtype.
    ///   - state: the parameter's state: ``ParameterState/step`` already counts this update (1 on
    ///     the first); the tensors are the ones this method stored on earlier updates (none before
    ///     the first), each to be kept with `value`'s shape.
    ///   - learningRate: α for this step (the schedule already applied).
    ///
    /// `value` is the parameter's storage, borrowed for the duration of the call: read the
    /// parameter being updated through `value`, not through ``parameters`` (Swift's exclusivity
    /// check stops a second access to it at run time); the other parameters can be read freely.
    open func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        preconditionFailure("Neural: \(type(of: self)) must override update(_:gradient:state:learningRate:)")
    }

    /// The complete state (the step count and every parameter's state), to checkpoint and resume
    /// exactly. Hyperparameters and the schedule are not part of it: recreate the optimiser with the
    /// same ones. Setting it converts the tensors to each parameter's dtype.
    ///
    /// - Precondition (set): one ``ParameterState`` per parameter, its tensors of the parameter's shape.
    public var state: OptimizerState {
        get { OptimizerState(step: stepCount, parameters: parameterStates) }
        set {
            precondition(newValue.parameters.count == parameters.count,
                         "Neural: optimizer state for \(newValue.parameters.count) parameters loaded into an optimizer of \(parameters.count)")
            for (i, s) in newValue.parameters.enumerated() {
                for (name, t) in s.tensors {
                    precondition(t.shape == parameters[i].shape,
                                 "Neural: optimizer state tensor '\(name)' of shape \(t.shape) for parameter \(i) of shape \(parameters[i].shape)")
                }
            }
            stepCount = newValue.step
            parameterStates = newValue.parameters.enumerated().map { i, s in
                ParameterState(step: s.step, tensors: s.tensors.mapValues { $0.detached().to(parameters[i].value.dtype).contiguous() })
            }
        }
    }
}

/// One parameter's optimiser state: how many updates it has received and its named state
/// tensors, each with the parameter's shape (empty before the first update). The built-in
/// optimisers use PyTorch's names: `momentum_buffer` (``SGD``, ``RMSProp``), `exp_avg` and
/// `exp_avg_sq` (``Adam``, ``AdamW``, ``NAdam``, ``RAdam``), `max_exp_avg_sq` (AMSGrad),
/// `square_avg` and `grad_avg` (``RMSProp``), `sum` (``Adagrad``).
public struct ParameterState: Sendable {
    /// Updates received (PyTorch's per-parameter `step`; drives Adam's bias correction).
    public var step: Int
    /// State tensors by name, each with the parameter's shape.
    public var tensors: [String: Tensor]

    /// A state from its parts (the default: no update yet, no tensors).
    public init(step: Int = 0, tensors: [String: Tensor] = [:]) {
        self.step = step
        self.tensors = tensors
    }
}

/// An optimiser's resumable state: the step counter and every parameter's ``ParameterState``, in
/// the optimiser's parameter order.
public struct OptimizerState: Sendable {
    /// Number of ``Optimizer/step()`` calls (drives the learning-rate schedule).
    public var step: Int
    /// Per parameter, in ``Optimizer/parameters`` order: its update count and state tensors.
    public var parameters: [ParameterState]

    /// A state from its parts.
    public init(step: Int, parameters: [ParameterState]) {
        self.step = step
        self.parameters = parameters
    }
}

extension Optimizer {
    /// Runs `body` with mutable pointers to `value`, to its state tensors `names` (created as
    /// zeros when missing) and to the gradient, all contiguous. `body` is called on disjoint
    /// blocks of the elements, possibly on several threads at once, with pointers to the block's
    /// first element and its length `n`; every built-in update rule is elementwise, so the result
    /// does not depend on the blocks. `T` is the parameter's scalar type.
    func withBuffers<T: KernelScalar>(
        _: T.Type, _ value: inout Tensor, gradient: Tensor, state: inout ParameterState, names: [String],
        _ body: (_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ s: [UnsafeMutablePointer<T>], _ n: Int) -> Void
    ) {
        var s = names.map { state.tensors.removeValue(forKey: $0) ?? Tensor.zeros(like: value) }
        for k in s.indices { s[k].makeUniqueContiguous() }
        value.makeUniqueContiguous()
        let g = gradient.detached().contiguous()
        let n = value.count
        withExtendedLifetime((g, s)) {
            let p = value.pointer(T.self), gp = UnsafePointer(g.pointer(T.self))
            let sp = s.map { $0.pointer(T.self) }
            // Disjoint ranges on both cores (block boundaries depend only on n).
            Parallel.forRanges(count: n, grain: 1 << 15) { r in
                body(p + r.lowerBound, gp + r.lowerBound, sp.map { $0 + r.lowerBound }, r.count)
            }
        }
        for (name, t) in zip(names, s) { state.tensors[name] = t }
    }

    /// Dispatches on `dtype` to a `Float` or `Double` loop.
    func dispatch(_ dtype: DType, _ float: () -> Void, _ double: () -> Void) {
        switch dtype {
        case .float32: float()
        case .float64: double()
        case .int32, .int64: dtype.floatOnly("an optimizer update")
        }
    }
}

/// Rescales the gradients of `parameters` in place so that their global L2 norm
/// ‖(∇θ₁, …, ∇θₙ)‖₂ is at most `maxNorm` (PyTorch's `clip_grad_norm_`: factor
/// maxNorm / (norm + 1e-6) when below 1). Parameters without a gradient are ignored.
///
/// - Returns: the global norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Parameter], maxNorm: Double) -> Double {
    var sumSquares = 0.0
    func addSquares<T: KernelScalar>(_: T.Type, _ g: Tensor) {
        g.withUnsafeScalars(as: T.self) { for x in $0 { sumSquares += Double(x) * Double(x) } }
    }
    func scale<T: KernelScalar>(_: T.Type, _ g: inout Tensor, by coefficient: Double) {
        let c = T(coefficient)
        g.withUnsafeMutableScalars(as: T.self) { for i in $0.indices { $0[i] *= c } }
    }
    for p in parameters {
        guard let g = p.grad else { continue }
        switch g.dtype {
        case .float32: addSquares(Float.self, g)
        case .float64: addSquares(Double.self, g)
        case .int32, .int64: g.dtype.floatOnly("clipGradNorm")
        }
    }
    let norm = sumSquares.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters {
            guard var g = p.grad else { continue }
            switch g.dtype {
            case .float32: scale(Float.self, &g, by: coefficient)
            case .float64: scale(Double.self, &g, by: coefficient)
            case .int32, .int64: g.dtype.floatOnly("clipGradNorm")
            }
            p.value.grad = g
        }
    }
    return norm
}

/// Clamps every gradient element of `parameters` to [−`maxValue`, `maxValue`] in place
/// (PyTorch's `clip_grad_value_`; NaN stays NaN). Parameters without a gradient are ignored.
public func clipGradValue(_ parameters: [Parameter], maxValue: Double) {
    precondition(maxValue >= 0, "Neural: clipGradValue needs maxValue ≥ 0, got \(maxValue)")
    func clamp<T: KernelScalar>(_: T.Type, _ g: inout Tensor) {
        let hi = T(maxValue), lo = -T(maxValue)
        g.withUnsafeMutableScalars(as: T.self) { for i in $0.indices where $0[i] > hi || $0[i] < lo { $0[i] = $0[i] > hi ? hi : lo } }
    }
    for p in parameters {
        guard var g = p.grad else { continue }
        switch g.dtype {
        case .float32: clamp(Float.self, &g)
        case .float64: clamp(Double.self, &g)
        case .int32, .int64: g.dtype.floatOnly("clipGradValue")
        }
        p.value.grad = g
    }
}

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
/// Subclasses implement ``update(_:index:gradient:learningRate:)`` on raw scalars; per-parameter
/// state (moment estimates, momentum buffers) lives in ``slots`` so that ``state`` can export and
/// restore it exactly.
open class Optimizer {
    /// The parameters updated by ``step()``, in order (the order of ``OptimizerState/slots``).
    public let parameters: [Parameter]
    /// The base learning rate α.
    public var learningRate: Double
    /// The learning-rate schedule consulted at every step (`nil`: constant ``learningRate``).
    public var schedule: LRSchedule?
    /// Number of ``step()`` calls so far.
    public internal(set) var stepCount = 0
    /// Per parameter: how many updates it has received (PyTorch's per-parameter `step`).
    public internal(set) var parameterSteps: [Int]
    /// Per parameter: the optimiser's state tensors (each with the parameter's shape), empty until
    /// the parameter's first update.
    public internal(set) var slots: [[Tensor]]

    /// An optimiser over `parameters` with base learning rate `learningRate`.
    public init(_ parameters: [Parameter], learningRate: Double, schedule: LRSchedule? = nil) {
        precondition(learningRate >= 0, "Neural: learning rate must be ≥ 0, got \(learningRate)")
        self.parameters = parameters
        self.learningRate = learningRate
        self.schedule = schedule
        self.parameterSteps = Array(repeating: 0, count: parameters.count)
        self.slots = Array(repeating: [], count: parameters.count)
    }

    /// The learning rate the next ``step()`` will use.
    public var currentLearningRate: Double {
        schedule?.learningRate(at: stepCount, base: learningRate) ?? learningRate
    }

    /// Applies one update to every trainable parameter that has a gradient.
    public func step() {
        let lr = currentLearningRate
        withNoGrad {
            for (i, p) in parameters.enumerated() where !p.isFrozen {
                guard let g = p.grad else { continue }
                parameterSteps[i] += 1
                update(p, index: i, gradient: g.dtype == p.value.dtype ? g : g.to(p.value.dtype), learningRate: lr)
            }
        }
        stepCount += 1
    }

    /// Clears the gradient of every parameter (call before each backward pass: gradients add up).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Updates one parameter in place from its gradient; `index` selects its ``slots`` and
    /// ``parameterSteps`` (already incremented for this update). Runs without recording history.
    open func update(_ parameter: Parameter, index: Int, gradient: Tensor, learningRate: Double) {
        fatalError("Neural: \(type(of: self)) must override update(_:index:gradient:learningRate:)")
    }

    /// The complete state (step counts and slot tensors), to checkpoint and resume exactly.
    /// Hyperparameters and the schedule are not part of it: recreate the optimiser with the same ones.
    public var state: OptimizerState {
        get { OptimizerState(step: stepCount, parameterSteps: parameterSteps, slots: slots) }
        set {
            precondition(newValue.slots.count == parameters.count && newValue.parameterSteps.count == parameters.count,
                         "Neural: optimizer state for \(newValue.slots.count) parameters loaded into an optimizer of \(parameters.count)")
            for (i, s) in newValue.slots.enumerated() {
                for t in s {
                    precondition(t.shape == parameters[i].shape,
                                 "Neural: optimizer state tensor of shape \(t.shape) for parameter \(i) of shape \(parameters[i].shape)")
                }
            }
            stepCount = newValue.step
            parameterSteps = newValue.parameterSteps
            slots = newValue.slots.enumerated().map { i, s in
                s.map { $0.detached().to(parameters[i].value.dtype).contiguous() }
            }
        }
    }

    // MARK: Helpers for subclasses' update loops

    /// Runs `body` with mutable pointers to the parameter's values and its `count` slot tensors
    /// (created as zeros when missing, or from `initial` when given) and a pointer to the gradient,
    /// all contiguous. `body` is called on disjoint blocks of the elements, possibly on several
    /// threads at once, with pointers to the block's first element and its length `n`; every
    /// update rule is elementwise, so the result does not depend on the blocks. `T` is the
    /// parameter's scalar type.
    func withBuffers<T: KernelScalar>(
        _: T.Type, _ parameter: Parameter, index: Int, gradient: Tensor, slotCount: Int,
        _ body: (_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ slots: [UnsafeMutablePointer<T>], _ n: Int) -> Void
    ) {
        if slots[index].count < slotCount {
            slots[index] += (slots[index].count..<slotCount).map { _ in Tensor.zeros(like: parameter.value) }
        }
        var s = slots[index]
        slots[index] = []
        for k in s.indices { s[k].makeUniqueContiguous() }
        parameter.value.makeUniqueContiguous()
        let g = gradient.detached().contiguous()
        let n = parameter.value.count
        withExtendedLifetime((g, s)) {
            let p = parameter.value.pointer(T.self), gp = UnsafePointer(g.pointer(T.self))
            let sp = s.map { $0.pointer(T.self) }
            // Disjoint ranges on both cores (block boundaries depend only on n).
            Parallel.forRanges(count: n, grain: 1 << 15) { r in
                body(p + r.lowerBound, gp + r.lowerBound, sp.map { $0 + r.lowerBound }, r.count)
            }
        }
        slots[index] = s
    }

    /// Dispatches on the parameter's dtype to a `Float` or `Double` loop.
    func dispatch(_ parameter: Parameter, _ float: () -> Void, _ double: () -> Void) {
        switch parameter.value.dtype {
        case .float32: float()
        case .float64: double()
        }
    }
}

/// An optimiser's resumable state: the step counter and, per parameter, its update count and
/// state tensors (e.g. Adam's first and second moments), in the optimiser's parameter order.
public struct OptimizerState: Sendable {
    /// Number of ``Optimizer/step()`` calls (drives the learning-rate schedule).
    public var step: Int
    /// Per parameter: updates received (drives Adam's bias correction).
    public var parameterSteps: [Int]
    /// Per parameter: its state tensors, each with the parameter's shape (empty before its first update).
    public var slots: [[Tensor]]

    /// A state from its parts.
    public init(step: Int, parameterSteps: [Int], slots: [[Tensor]]) {
        self.step = step
        self.parameterSteps = parameterSteps
        self.slots = slots
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
    for p in parameters {
        guard let g = p.grad else { continue }
        switch g.dtype {
        case .float32: g.withUnsafeScalars(as: Float.self) { for x in $0 { sumSquares += Double(x) * Double(x) } }
        case .float64: g.withUnsafeScalars(as: Double.self) { for x in $0 { sumSquares += x * x } }
        }
    }
    let norm = sumSquares.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        for p in parameters {
            guard var g = p.grad else { continue }
            switch g.dtype {
            case .float32:
                let c = Float(coefficient)
                g.withUnsafeMutableScalars(as: Float.self) { for i in $0.indices { $0[i] *= c } }
            case .float64:
                g.withUnsafeMutableScalars(as: Double.self) { for i in $0.indices { $0[i] *= coefficient } }
            }
            p.value.grad = g
        }
    }
    return norm
}

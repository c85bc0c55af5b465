/// A learnable tensor owned by a module (like `torch.nn.Parameter`). It is a reference, so an
/// optimiser, a checkpoint loader and the module all see the same value.
public final class Parameter: CustomStringConvertible {
    /// The current value; a leaf that requires gradients unless the parameter is frozen.
    public var value: Tensor {
        didSet { value.requiresGrad = !isFrozen }
    }

    /// Frozen parameters do not require gradients, so training leaves them bit-for-bit unchanged.
    public var isFrozen: Bool {
        didSet { value.requiresGrad = !isFrozen }
    }

    /// A trainable parameter holding `value`.
    public init(_ value: Tensor) {
        self.isFrozen = false
        var v = value.detached()
        v.requiresGrad = true
        self.value = v
    }

    /// ∂J/∂value accumulated by the last backward passes (`nil` before any, or when frozen).
    public var grad: Tensor? { value.grad }

    /// Clears the accumulated gradient.
    public func zeroGrad() { value.zeroGrad() }

    /// The parameter's shape.
    public var shape: [Int] { value.shape }

    /// `Parameter(shape, dtype)`.
    public var description: String { "Parameter(\(value.shape), \(value.dtype)\(isFrozen ? ", frozen" : ""))" }
}

/// A non-learnable tensor that belongs to a module's state (like a registered buffer in PyTorch),
/// e.g. BatchNorm's running statistics: saved in checkpoints, never touched by optimisers.
public final class Buffer {
    /// The current value (never requires gradients).
    public var value: Tensor

    /// A buffer holding `value`.
    public init(_ value: Tensor) { self.value = value.detached() }
}

/// The base of every network component (like `torch.nn.Module`): it finds its parameters,
/// buffers and sub-modules by walking its stored properties, names them with dotted paths that
/// equal PyTorch's `state_dict` keys (`0.weight`, `blocks.1.norm.bias`), and carries the
/// train/eval mode.
///
/// Subclass it, store ``Parameter``s, ``Buffer``s and child modules (alone, in arrays or as
/// optionals) in properties, and conform to ``Layer`` to be callable:
///
/// ```swift
/// final class TwoLayer: Module, Layer {
///     let fc1 = Linear(4, 8), fc2 = Linear(8, 1)
///     func callAsFunction(_ x: Tensor) -> Tensor { fc2(fc1(x).relu()) }   // [batch, 4] → [batch, 1]
/// }
/// TwoLayer().namedParameters().map(\.name)   // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
/// ```
open class Module {
    /// Whether the module is in training mode (dropout active, batch statistics in BatchNorm).
    public private(set) var isTraining = true

    /// Creates a module in training mode.
    public init() {}

    /// The direct children with their names. By default every stored property holding a
    /// module, an array of modules or an optional module, in declaration order; array elements
    /// are named by index (`layers.0`). Override to rename (``Sequential`` names children `0`, `1`, …).
    open var children: [(name: String, module: Module)] {
        var out: [(String, Module)] = []
        for (label, value) in Module.storedProperties(of: self) {
            for (suffix, m) in Module.unwrap(value, as: Module.self) { out.append((label + suffix, m)) }
        }
        return out
    }

    /// This module's own parameters (not its children's), named by property.
    open var localParameters: [(name: String, parameter: Parameter)] {
        var out: [(String, Parameter)] = []
        for (label, value) in Module.storedProperties(of: self) {
            for (suffix, p) in Module.unwrap(value, as: Parameter.self) { out.append((label + suffix, p)) }
        }
        return out
    }

    /// This module's own buffers, named by property.
    open var localBuffers: [(name: String, buffer: Buffer)] {
        var out: [(String, Buffer)] = []
        for (label, value) in Module.storedProperties(of: self) {
            for (suffix, b) in Module.unwrap(value, as: Buffer.self) { out.append((label + suffix, b)) }
        }
        return out
    }

    /// Every parameter in the tree with its dotted name, parents' parameters first, then each
    /// child's in order (PyTorch's `named_parameters()` order).
    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        var out = localParameters
        for (name, child) in children {
            out += child.namedParameters().map { (name + "." + $0.name, $0.parameter) }
        }
        return out
    }

    /// Every buffer in the tree with its dotted name.
    public func namedBuffers() -> [(name: String, buffer: Buffer)] {
        var out = localBuffers
        for (name, child) in children {
            out += child.namedBuffers().map { (name + "." + $0.name, $0.buffer) }
        }
        return out
    }

    /// Every module in the tree (this one first, named ""), depth-first.
    public func namedModules() -> [(name: String, module: Module)] {
        var out: [(String, Module)] = [("", self)]
        for (name, child) in children {
            out += child.namedModules().map { ($0.name.isEmpty ? name : name + "." + $0.name, $0.module) }
        }
        return out
    }

    /// All parameters, in ``namedParameters()`` order.
    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// The parameters that are not frozen.
    public var trainableParameters: [Parameter] { parameters.filter { !$0.isFrozen } }

    /// Total number of scalar parameters (eq. 7.22 for an MLP).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Sets training (`true`) or evaluation (`false`) mode on the whole tree; returns `self`.
    @discardableResult
    public func train(_ on: Bool = true) -> Self {
        for (_, m) in namedModules() { m.isTraining = on }
        return self
    }

    /// Evaluation mode on the whole tree (BatchNorm uses running statistics, Dropout is off).
    @discardableResult
    public func eval() -> Self { train(false) }

    /// Freezes every parameter in the tree (they stop requiring gradients); returns `self`.
    @discardableResult
    public func freeze() -> Self {
        for p in parameters { p.isFrozen = true }
        return self
    }

    /// Makes every parameter in the tree trainable again; returns `self`.
    @discardableResult
    public func unfreeze() -> Self {
        for p in parameters { p.isFrozen = false }
        return self
    }

    /// The state as PyTorch's `state_dict()` would list it: parameters and buffers by dotted name.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedParameters().map { ($0.name, $0.parameter.value.detached()) } + namedBuffers().map { ($0.name, $0.buffer.value) }
    }

    /// Converts every parameter and buffer to `dtype` (e.g. Float64 for gradient checks); returns `self`.
    @discardableResult
    public func to(_ dtype: DType) -> Self {
        for p in parameters { p.value = p.value.detached().to(dtype) }
        for (_, b) in namedBuffers() { b.value = b.value.to(dtype) }
        return self
    }

    // MARK: Reflection

    private static func storedProperties(of object: Module) -> [(String, Any)] {
        var chain: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: object)
        while let m = mirror {
            chain.append(m)
            mirror = m.superclassMirror
        }
        // Superclass properties first, as they are declared first.
        return chain.reversed().flatMap { m in
            m.children.compactMap { c in c.label.map { (label: String) -> (String, Any) in
                (label.hasPrefix("_") ? String(label.dropFirst()) : label, c.value)
            } }
        }
    }

    /// `value` as a `T` (suffix ""), the `T`s in an array (suffixes ".0", ".1", …) or an optional `T`.
    private static func unwrap<T>(_ value: Any, as _: T.Type) -> [(String, T)] {
        if let t = value as? T { return [("", t)] }
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            if let first = m.children.first { return unwrap(first.value, as: T.self) }
            return []
        case .collection:
            var out: [(String, T)] = []
            for (i, c) in m.children.enumerated() {
                out += unwrap(c.value, as: T.self).map { (".\(i)" + $0.0, $0.1) }
            }
            return out
        default:
            return []
        }
    }
}

/// A module that maps a tensor to a tensor: u = g(z).
public protocol Layer: Module {
    /// Applies the module: z ↦ g(z).
    func callAsFunction(_ x: Tensor) -> Tensor
}

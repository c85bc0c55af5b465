import Synchronization

/// A learnable tensor owned by a module (like `torch.nn.Parameter`). It is a reference, so an
/// optimiser, a checkpoint loader and the module all see the same value.
public final class Parameter: CustomStringConvertible {
    /// The current value; a leaf that requires gradients unless the parameter is frozen.
    public var value: Tensor {
        didSet {
            value.requiresGrad = !isFrozen
            version &+= 1
        }
    }

    /// Advances on every assignment to ``value`` (optimizer steps and checkpoint loads included):
    /// caches derived from the value (a ``Linear`` layer's packed weight) compare it.
    package private(set) var version = 0

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
    ///
    /// Which stored properties can hold modules, parameters or buffers is worked out once per class
    /// (from the declared types of optionals and arrays, and from the values of the first instance
    /// walked); every walk then reads those properties' current values, so reassigning one is seen.
    /// A property declared as an existential (`Any`, `AnyObject`, `any P`) that is not an optional
    /// or array counts only if its value in the first instance walked was a module, parameter or buffer.
    open var children: [(name: String, module: Module)] {
        let slots = Module.layout(of: self).modules
        return slots.isEmpty ? [] : Module.stored(slots, of: self, as: Module.self, kind: .module)
    }

    /// This module's own parameters (not its children's), named by property.
    open var localParameters: [(name: String, parameter: Parameter)] {
        let slots = Module.layout(of: self).parameters
        return slots.isEmpty ? [] : Module.stored(slots, of: self, as: Parameter.self, kind: .parameter)
    }

    /// This module's own buffers, named by property.
    open var localBuffers: [(name: String, buffer: Buffer)] {
        let slots = Module.layout(of: self).buffers
        return slots.isEmpty ? [] : Module.stored(slots, of: self, as: Buffer.self, kind: .buffer)
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

    /// Converts every floating-point parameter and buffer to the floating-point `dtype` (e.g. Float64
    /// for gradient checks); integer buffers keep their type, as in PyTorch's `Module.to(dtype)`.
    /// Returns `self`.
    @discardableResult
    public func to(_ dtype: DType) -> Self {
        precondition(dtype.isFloatingPoint, "Neural: Module.to needs a floating-point dtype, got \(dtype)")
        for p in parameters where p.value.dtype.isFloatingPoint { p.value = p.value.detached().to(dtype) }
        for (_, b) in namedBuffers() where b.value.dtype.isFloatingPoint { b.value = b.value.to(dtype) }
        return self
    }

    // MARK: Reflection

    /// A stored property that can hold part of the tree: the class in the chain that declares it
    /// (0 = the dynamic class, 1 = its superclass, …), its index among that class's stored
    /// properties, and its name.
    private struct Slot: Sendable {
        var depth: Int
        var index: Int
        var name: String
    }

    /// A class's slots by what they can hold, each list in declaration order (superclass first).
    private struct Layout: Sendable {
        var modules: [Slot] = []
        var parameters: [Slot] = []
        var buffers: [Slot] = []
    }

    /// Each class's layout, worked out on the first walk of an instance of it.
    private static let layouts = Mutex<[ObjectIdentifier: Layout]>([:])

    /// The layout of `object`'s class: from the cache, or worked out from `object` and cached.
    private static func layout(of object: Module) -> Layout {
        let key = ObjectIdentifier(type(of: object))
        if let known = layouts.withLock({ $0[key] }) { return known }
        var chain: [Mirror] = []
        var mirror: Mirror? = Mirror(reflecting: object)
        while let m = mirror {
            chain.append(m)
            mirror = m.superclassMirror
        }
        var layout = Layout()
        // Superclass properties first, as they are declared first.
        for depth in chain.indices.reversed() {
            for (index, child) in chain[depth].children.enumerated() {
                guard let label = child.label else { continue }
                let kinds = treeKinds(of: child.value)
                let slot = Slot(depth: depth, index: index, name: label.hasPrefix("_") ? String(label.dropFirst()) : label)
                if kinds.contains(.module) { layout.modules.append(slot) }
                if kinds.contains(.parameter) { layout.parameters.append(slot) }
                if kinds.contains(.buffer) { layout.buffers.append(slot) }
            }
        }
        layouts.withLock { $0[key] = layout }
        return layout
    }

    /// What a stored property holding `value` can hold: decided by its type where that is a
    /// ``TreeSlot`` (modules, parameters, buffers, their optionals and arrays, and plain values);
    /// anything for other optionals and arrays (`[any Layer]`), which are unwrapped on every walk;
    /// nothing for other values.
    private static func treeKinds(of value: Any) -> TreeKinds {
        if let slot = type(of: value) as? any TreeSlot.Type { return slot.treeKinds }
        switch Mirror(reflecting: value).displayStyle {
        case .optional, .collection: return [.module, .parameter, .buffer]
        default: return []
        }
    }

    /// The `T`s (which are `kind`) that `slots` of `object` hold now, named by property (and index in an array).
    private static func stored<T>(_ slots: [Slot], of object: Module, as _: T.Type, kind: TreeKinds) -> [(String, T)] {
        var chain = [Mirror(reflecting: object)]
        var out: [(String, T)] = []
        for slot in slots {
            while chain.count <= slot.depth { chain.append(chain[chain.count - 1].superclassMirror!) }
            let children = chain[slot.depth].children
            let value = children[children.index(children.startIndex, offsetBy: slot.index)].value
            for (suffix, t) in unwrap(value, as: T.self, kind: kind) { out.append((slot.name + suffix, t)) }
        }
        return out
    }

    /// `value` as a `T` (suffix ""), the `T`s in an array (suffixes ".0", ".1", …) or an optional `T`;
    /// `kind` is what a `T` is, so that values whose type cannot hold one (a module in an array of
    /// layers, when looking for parameters) are passed over without reflecting on them.
    private static func unwrap<T>(_ value: Any, as _: T.Type, kind: TreeKinds) -> [(String, T)] {
        if let t = value as? T { return [("", t)] }
        if let slot = type(of: value) as? any TreeSlot.Type, !slot.treeKinds.contains(kind) { return [] }
        let m = Mirror(reflecting: value)
        switch m.displayStyle {
        case .optional:
            if let first = m.children.first { return unwrap(first.value, as: T.self, kind: kind) }
            return []
        case .collection:
            var out: [(String, T)] = []
            for (i, c) in m.children.enumerated() {
                out += unwrap(c.value, as: T.self, kind: kind).map { (".\(i)" + $0.0, $0.1) }
            }
            return out
        default:
            return []
        }
    }
}

/// What a stored property of a module can hold.
private struct TreeKinds: OptionSet {
    let rawValue: UInt8
    static let module = TreeKinds(rawValue: 1)
    static let parameter = TreeKinds(rawValue: 2)
    static let buffer = TreeKinds(rawValue: 4)
}

/// A type whose values can only hold what ``treeKinds`` says, whatever the value: lets a class's
/// layout skip plain values (`Int`, `[Int]`, `Tensor`) and know what an empty optional or array of
/// modules, parameters or buffers may hold later.
private protocol TreeSlot {
    static var treeKinds: TreeKinds { get }
}

extension Module: TreeSlot { fileprivate static var treeKinds: TreeKinds { .module } }
extension Parameter: TreeSlot { fileprivate static var treeKinds: TreeKinds { .parameter } }
extension Buffer: TreeSlot { fileprivate static var treeKinds: TreeKinds { .buffer } }
extension Optional: TreeSlot where Wrapped: TreeSlot { fileprivate static var treeKinds: TreeKinds { Wrapped.treeKinds } }
extension Array: TreeSlot where Element: TreeSlot { fileprivate static var treeKinds: TreeKinds { Element.treeKinds } }
extension Tensor: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }
extension Int: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }
extension Double: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }
extension Float: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }
extension Bool: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }
extension String: TreeSlot { fileprivate static var treeKinds: TreeKinds { [] } }

/// A module that maps a tensor to a tensor: u = g(z).
public protocol Layer: Module {
    /// Applies the module: z ↦ g(z).
    func callAsFunction(_ x: Tensor) -> Tensor
}

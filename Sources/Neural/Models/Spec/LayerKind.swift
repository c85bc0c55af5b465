/// One kind of token in the model-spec language (`linear`, `conv2d`, `relu`, …): its names, its
/// arguments and how a token with bound arguments is made. Each layer declares its kind next to
/// its class (`LayerKind.linear` in `Layers/Linear.swift`); ``LayerRegistry/kinds`` lists them all,
/// and the parser, the builder, `--help` and the suggestions for misspelt names read that list.
package struct LayerKind: Sendable {
    /// The names the token is written with, lower case (`["maxpool", "maxpool1d", "maxpool2d"]`).
    package let names: [String]
    /// The token's form in ``ModelSpec/usage``, e.g. `conv2d(c,k,stride=s,padding=p)`.
    package let usage: String
    /// The arguments, given positionally in this order or as `name=value`.
    let parameters: [SpecParameter]
    /// The argument list of a token that takes any number of positional values of one type
    /// (`mlp(m₁,…,m_r)`: at least one); nil for a token with ``parameters``.
    let repeated: SpecParameter?
    /// The expected form shown in hints, for the name the token was written with.
    let form: @Sendable (_ name: String) -> String
    /// The token made from its arguments, each already checked against its ``SpecParameter``;
    /// throws for checks that involve several arguments.
    let make: @Sendable (_ arguments: BoundArguments) throws(ModelSpecError) -> any LayerToken

    /// A kind with fixed `parameters` and a hint `form` that depends on the name written.
    init(names: [String], usage: String, parameters: [SpecParameter], repeated: SpecParameter? = nil,
         form: @escaping @Sendable (_ name: String) -> String,
         make: @escaping @Sendable (_ arguments: BoundArguments) throws(ModelSpecError) -> any LayerToken) {
        self.names = names
        self.usage = usage
        self.parameters = parameters
        self.repeated = repeated
        self.form = form
        self.make = make
    }

    /// A kind with one name and a fixed hint `form`.
    init(name: String, usage: String, parameters: [SpecParameter], repeated: SpecParameter? = nil, form: String,
         make: @escaping @Sendable (_ arguments: BoundArguments) throws(ModelSpecError) -> any LayerToken) {
        self.init(names: [name], usage: usage, parameters: parameters, repeated: repeated, form: { _ in form }, make: make)
    }

    /// A token without arguments that adds the layer `make` gives and keeps the running shape
    /// (an activation such as `relu`).
    static func elementwise(_ name: String, _ make: @escaping @Sendable () -> any Layer) -> LayerKind {
        LayerKind(name: name, usage: name, parameters: [], form: name) { _ in ElementwiseToken(name: name, make: make) }
    }
}

/// One argument a token takes: its name (the key in `name=value` and the word in "missing its …
/// argument"), what it means (in messages: "the stride must be positive"), its type and whether it
/// must be given. An optional argument left out is nil in ``BoundArguments``; the token supplies
/// the default, so the canonical spelling can leave defaults out.
struct SpecParameter: Sendable {
    /// The values an argument accepts.
    enum ValueType: Sendable {
        /// An integer ≥ `minimum` (1: a size).
        case integer(minimum: Int)
        /// An integer ≥ 0 or the word `same`.
        case integerOrSame
        /// A finite number, within `range` when given, > 0 when `positive`.
        case number(range: ClosedRange<Double>?, positive: Bool)
        /// One of the listed words (lower case; written in any case).
        case word([String])
    }

    /// The key, e.g. `stride`.
    let name: String
    /// The meaning in messages, e.g. `number of output channels`.
    let meaning: String
    /// The accepted values.
    let type: ValueType
    /// Whether the token needs it.
    let isRequired: Bool

    /// A positive integer (a size or count).
    static func size(_ name: String, _ meaning: String, required: Bool = false) -> SpecParameter {
        SpecParameter(name: name, meaning: meaning, type: .integer(minimum: 1), isRequired: required)
    }

    /// An optional non-negative integer `padding`.
    static let padding = SpecParameter(name: "padding", meaning: "padding", type: .integer(minimum: 0), isRequired: false)

    /// An optional finite number, restricted to `range` or to positive values.
    static func number(_ name: String, _ meaning: String, in range: ClosedRange<Double>? = nil,
                       positive: Bool = false) -> SpecParameter {
        SpecParameter(name: name, meaning: meaning, type: .number(range: range, positive: positive), isRequired: false)
    }
}

/// A value an argument was bound to.
enum SpecValue: Equatable, Sendable {
    /// An integer argument.
    case integer(Int)
    /// A number argument.
    case number(Double)
    /// The word `same` (a padding).
    case same
    /// A word from a ``SpecParameter/ValueType/word(_:)`` list, lower case.
    case word(String)
}

/// A token's arguments after binding and checking: each parameter's value (nil when left out)
/// and where it was written, for errors about combinations of arguments.
struct BoundArguments {
    /// The token's name as written (lower case).
    let name: String
    /// The spec, for errors.
    let spec: String
    /// The token's characters in the spec.
    let range: Range<Int>
    /// The values by parameter name, with their characters in the spec.
    let values: [String: (value: SpecValue, range: Range<Int>)]
    /// The values of a token with a repeated argument, in order.
    let repeated: [Int]

    /// The integer given for `parameter`, nil when left out.
    func integer(_ parameter: SpecParameter) -> Int? {
        if case .integer(let v)? = values[parameter.name]?.value { return v }
        return nil
    }

    /// The number given for `parameter`, nil when left out.
    func number(_ parameter: SpecParameter) -> Double? {
        if case .number(let v)? = values[parameter.name]?.value { return v }
        return nil
    }

    /// The word given for `parameter` (lower case), nil when left out.
    func word(_ parameter: SpecParameter) -> String? {
        if case .word(let v)? = values[parameter.name]?.value { return v }
        return nil
    }

    /// Whether `parameter` was given as `same`.
    func isSame(_ parameter: SpecParameter) -> Bool { values[parameter.name]?.value == .same }

    /// An error about the argument given for `parameter` (the whole token when it is nil or left out).
    func error(_ message: String, at parameter: SpecParameter? = nil, hint: String? = nil) -> ModelSpecError {
        let argumentRange = parameter.flatMap { values[$0.name]?.range }
        return ModelSpecError(message, spec: spec, range: argumentRange ?? range, hint: hint)
    }
}

/// A spec token with its arguments bound: its canonical spelling (``description``, e.g.
/// `conv2d(32,3,stride=2)`) and the layers it adds for the running per-example shape.
package protocol LayerToken: Sendable, CustomStringConvertible {
    /// Adds the token's layers to `plan`, checking that they fit its running shape.
    func plan(_ plan: inout LayerPlan) throws(ModelSpecError)
    /// The outputs of a token that can end a network as its output layer (`linear(k)`: k); the
    /// builder appends no output layer after it. nil for every other token.
    var outputWidth: Int? { get }
    /// Whether `other` is the same token with the same arguments.
    func isEqual(to other: any LayerToken) -> Bool
}

extension LayerToken {
    /// Not an output layer.
    package var outputWidth: Int? { nil }
}

extension LayerToken where Self: Equatable {
    /// Equal when `other` has this type and equal arguments.
    package func isEqual(to other: any LayerToken) -> Bool { (other as? Self) == self }
}

/// A token without arguments for a layer that keeps the running shape.
struct ElementwiseToken: LayerToken, Equatable {
    /// The token's name, its canonical spelling.
    let name: String
    /// Makes the layer.
    let make: @Sendable () -> any Layer

    var description: String { name }

    func plan(_ plan: inout LayerPlan) {
        plan.add(plan.shape) { _, _ in make() }
    }

    static func == (a: ElementwiseToken, b: ElementwiseToken) -> Bool { a.name == b.name }
}

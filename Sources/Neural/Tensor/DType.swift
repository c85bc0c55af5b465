import Foundation

/// The element type of a tensor. Float32 is the default; Float64 exists for gradient checks and
/// numerically demanding work; Int32 and Int64 hold token ids, labels and indices (never
/// differentiated: only floating-point tensors can require gradients).
///
/// `allCases` includes the integer types; loops over the types that arithmetic, matmul and
/// autodiff accept use ``floatingPointCases``.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit IEEE float (Swift `Float`), the default.
    case float32
    /// 64-bit IEEE float (Swift `Double`).
    case float64
    /// 32-bit signed integer (Swift `Int32`), PyTorch's `torch.int32`.
    case int32
    /// 64-bit signed integer (Swift `Int64`), PyTorch's `torch.long`: what `argmax`, `topk` and
    /// `sort` return their indices as.
    case int64

    /// The floating-point types, ``float32`` and ``float64``: those autodiff and the float kernels accept.
    public static let floatingPointCases: [DType] = [.float32, .float64]

    /// The integer types, ``int32`` and ``int64``.
    public static let integerCases: [DType] = [.int32, .int64]

    /// Whether this is ``float32`` or ``float64``.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// Whether this is ``int32`` or ``int64``.
    public var isInteger: Bool { !isFloatingPoint }

    /// Bytes per element.
    package var byteSize: Int { self == .float32 || self == .int32 ? 4 : 8 }

    /// The name, e.g. `float32`.
    public var description: String { rawValue }

    /// Stops with "Neural: `op` needs a floating-point tensor, got int64": the fallback of every
    /// float-only kernel's dtype switch.
    func floatOnly(_ op: String) -> Never {
        fatalError("Neural: \(op) needs a floating-point tensor, got \(self); convert it with .to(.float32)")
    }
}

/// A Swift type a tensor can store: ``TensorScalar`` (`Float`, `Double`) or ``TensorInteger``
/// (`Int32`, `Int64`).
public protocol TensorElement: Numeric, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The tensor element type that stores this type.
    static var dtype: DType { get }
}

/// A Swift scalar type a tensor can hold: `Float` (``DType/float32``) or `Double` (``DType/float64``).
public protocol TensorScalar: TensorElement, BinaryFloatingPoint, SIMDScalar {}

/// A Swift integer type a tensor can hold: `Int32` (``DType/int32``) or `Int64` (``DType/int64``).
public protocol TensorInteger: TensorElement, FixedWidthInteger, SignedInteger {}

extension Int32: TensorInteger {
    /// ``DType/int32``.
    public static var dtype: DType { .int32 }
}

extension Int64: TensorInteger {
    /// ``DType/int64``.
    public static var dtype: DType { .int64 }
}

extension Float: TensorScalar {
    /// ``DType/float32``.
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    /// ``DType/float64``.
    public static var dtype: DType { .float64 }
}

/// The scalar operations the kernels need, resolved to concrete libm calls per type so that
/// generic kernels specialise into tight loops.
protocol KernelScalar: TensorScalar, Codable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log1p(_ x: Self) -> Self
    static func expm1(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
}

extension Float: KernelScalar {
    @inline(__always) static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    @inline(__always) static func log(_ x: Float) -> Float { Foundation.logf(x) }
    @inline(__always) static func log1p(_ x: Float) -> Float { Foundation.log1pf(x) }
    @inline(__always) static func expm1(_ x: Float) -> Float { Foundation.expm1f(x) }
    @inline(__always) static func sin(_ x: Float) -> Float { Foundation.sinf(x) }
    @inline(__always) static func cos(_ x: Float) -> Float { Foundation.cosf(x) }
    @inline(__always) static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
    @inline(__always) static func erf(_ x: Float) -> Float { Foundation.erff(x) }
    @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { Foundation.powf(x, y) }
}

extension Double: KernelScalar {
    @inline(__always) static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) static func log1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inline(__always) static func expm1(_ x: Double) -> Double { Foundation.expm1(x) }
    @inline(__always) static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    @inline(__always) static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    @inline(__always) static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) static func erf(_ x: Double) -> Double { Foundation.erf(x) }
    @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
}

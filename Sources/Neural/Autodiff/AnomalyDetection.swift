import Synchronization

/// The first non-finite value (NaN or ±∞) that anomaly detection saw: which operation produced
/// it, in which pass, and in which module (when the caller named modules, as ``Trainer`` does
/// with ``Trainer/detectAnomalies``).
public struct Anomaly: Error, Sendable, Equatable, CustomStringConvertible {
    /// The pass in which the value appeared.
    public enum Pass: String, Sendable, Equatable {
        /// The operation's output was non-finite.
        case forward
        /// The operation's backward function returned a non-finite gradient for one of its inputs.
        case backward
    }

    /// Forward output or backward gradient.
    public var pass: Pass
    /// The operation's name (as in the tensor's description, e.g. `log`, `matmul`, `cross_entropy`).
    public var operation: String
    /// The module path active when the operation was recorded (e.g. `2` for layer 2 of a
    /// ``Sequential``), if known.
    public var module: String?
    /// The kind of module (e.g. `Linear`), if known.
    package var moduleType: String?
    /// For ``Pass/backward``: the index of the input whose gradient was non-finite.
    public var input: Int?
    /// The shape of the non-finite tensor (the output, or the input's gradient).
    public var shape: [Int]
    /// The first non-finite element (NaN, +∞ or −∞).
    public var value: Double

    /// An anomaly as the detector records it (also for tests).
    package init(pass: Pass, operation: String, module: String? = nil, moduleType: String? = nil,
                input: Int? = nil, shape: [Int], value: Double) {
        self.pass = pass
        self.operation = operation
        self.module = module
        self.moduleType = moduleType
        self.input = input
        self.shape = shape
        self.value = value
    }

    /// One sentence, e.g. `the backward of 'log' in layer 2 (Log) produced NaN in the gradient of its input 0 [16, 2]`.
    public var description: String {
        var where_ = "'\(operation)'"
        if let module { where_ += " in layer \(module)" + (moduleType.map { " (\($0))" } ?? "") }
        let shapeText = "[" + shape.map(String.init).joined(separator: ", ") + "]"
        let value = value.isNaN ? "NaN" : value > 0 ? "+Inf" : "-Inf"
        switch pass {
        case .forward:
            return "the forward pass of \(where_) produced \(value) in its output \(shapeText)"
        case .backward:
            return "the backward of \(where_) produced \(value) in the gradient of its input \(input ?? 0) \(shapeText)"
        }
    }
}

/// Anomaly detection (like PyTorch's `torch.autograd.detect_anomaly`): while it is on, every
/// recorded operation's output and every gradient its backward function returns is checked for
/// NaN and ±∞, and the first offender is kept. It costs one pass over each value checked, so it is
/// off by default; turn it on to find where a NaN comes from.
package enum AnomalyDetection {
    /// Collects the first anomaly of one detection scope.
    final class Recorder: Sendable {
        let first = Mutex<Anomaly?>(nil)

        func note(_ a: Anomaly) {
            first.withLock { if $0 == nil { $0 = a } }
        }
    }

    @TaskLocal static var recorder: Recorder?
    /// The module path and type that operations recorded now are attributed to.
    @TaskLocal static var module: (path: String, type: String)?

    /// Whether anomaly detection is on in the current task.
    package static var isEnabled: Bool { recorder != nil }

    /// Runs `body` with detection on and returns its result and the first anomaly (nil: none).
    package static func run<R>(_ body: () throws -> R) rethrows -> (result: R, anomaly: Anomaly?) {
        let r = Recorder()
        let result = try $recorder.withValue(r) { try body() }
        return (result, r.first.withLock { $0 })
    }

    /// Runs `body` attributing the operations it records to module `path` (of kind `type`).
    package static func inModule<R>(_ path: String, type: String, _ body: () throws -> R) rethrows -> R {
        try $module.withValue((path, type)) { try body() }
    }

    /// Records a non-finite forward output of `op`, and wraps its backward function so that a
    /// non-finite gradient it returns is recorded too. Called by every recorded operation.
    static func instrument(_ output: Tensor, op: String, backward: @escaping BackwardFunction,
                           recorder: Recorder) -> BackwardFunction {
        let module = AnomalyDetection.module
        if let bad = firstNonFinite(output) {
            recorder.note(Anomaly(pass: .forward, operation: op, module: module?.path, moduleType: module?.type,
                                  shape: output.shape, value: bad))
        }
        return { v, needs in
            let grads = backward(v, needs)
            for (i, g) in grads.enumerated() {
                guard let g, let bad = firstNonFinite(g) else { continue }
                recorder.note(Anomaly(pass: .backward, operation: op, module: module?.path, moduleType: module?.type,
                                      input: i, shape: g.shape, value: bad))
                break
            }
            return grads
        }
    }

    /// The first NaN or ±∞ element of `t`, or nil when all are finite.
    package static func firstNonFinite(_ t: Tensor) -> Double? {
        switch t.dtype {
        case .float32:
            return t.withUnsafeScalars(as: Float.self) { b in
                guard !allFinite(b, lanes: SIMD16<Float>.self) else { return nil }
                return b.first { !$0.isFinite }.map(Double.init)
            }
        case .float64:
            return t.withUnsafeScalars(as: Double.self) { b in
                guard !allFinite(b, lanes: SIMD8<Double>.self) else { return nil }
                return b.first { !$0.isFinite }
            }
        case .int32, .int64:
            return nil   // integers are always finite
        }
    }

    /// Whether every element is finite: x·0 is 0 for finite x and NaN otherwise, so the sum of
    /// x·0 over all elements is 0 exactly when all are finite (SIMD vectors of type `V`, no early exit).
    @inline(__always)
    static func allFinite<V: SIMD>(_ b: UnsafeBufferPointer<V.Scalar>, lanes _: V.Type) -> Bool
    where V.Scalar: BinaryFloatingPoint {
        guard let base = b.baseAddress else { return true }
        let n = b.count, width = V().scalarCount
        var acc = V()
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + width <= n {
            acc += raw.loadUnaligned(fromByteOffset: i * MemoryLayout<V.Scalar>.stride, as: V.self) * 0
            i += width
        }
        var tail: V.Scalar = 0
        while i < n { tail += base[i] * 0; i += 1 }
        return acc.sum() + tail == 0
    }
}

/// Runs `body` with anomaly detection on (like `torch.autograd.detect_anomaly()`): every
/// operation recorded for autodiff inside it checks its output, and every backward function run
/// for those operations checks the gradients it returns, for NaN and ±∞.
///
/// ```swift
/// try withAnomalyDetection {
///     let loss = crossEntropyLoss(logits: model(x), labels: y)
///     loss.backward()
/// }   // throws e.g. Anomaly: the backward of 'sqrt' produced inf in the gradient of its input 0 [8]
/// ```
///
/// - Returns: `body`'s result when nothing non-finite appeared.
/// - Throws: the first ``Anomaly`` (after `body` has finished), or what `body` throws.
public func withAnomalyDetection<R>(_ body: () throws -> R) throws -> R {
    let (result, anomaly) = try AnomalyDetection.run(body)
    if let anomaly { throw anomaly }
    return result
}

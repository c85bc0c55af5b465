import CNeuralKernels
import Foundation

/// The instruction-set level of Neural's CPU kernels, lowest first.
///
/// Every kernel gives the same bits at every level (reductions run in one fixed order around 16
/// lanes, fused multiply-adds are the same in every body): the level changes speed only, so a model
/// trained with a fixed seed on an AVX2 laptop and on an AVX-512 server ends with the same weights.
public enum KernelLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Portable C, on any CPU.
    case portable = 0
    /// AVX2 with fused multiply-add (x86-64 since Haswell and Zen).
    case avx2 = 1
    /// AVX-512F and DQ (x86-64 server parts since Skylake-SP, Zen 4 and later).
    case avx512 = 2

    /// The name `NEURAL_ISA` takes: `portable`, `avx2` or `avx512`.
    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// The level a name denotes (`portable`, `avx2`, `avx512`; case ignored), or nil.
    public init?(name: String) {
        guard let level = KernelLevel.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    init(_ raw: Int32) { self = KernelLevel(rawValue: Int(max(0, min(2, raw))))! }
}

/// `NEURAL_ISA` holds a value that names no kernel level.
public struct KernelLevelError: Error, CustomStringConvertible, Sendable {
    /// The variable's value.
    public let value: String

    public var description: String {
        "NEURAL_ISA=\(value) is not a kernel level: use avx512, avx2 or portable (or native, or unset it, for the CPU's best)"
    }
}

extension Runtime {
    /// The kernel level in force on the calling thread: ``cpuKernelLevel`` capped by the environment
    /// variable `NEURAL_ISA` (`avx512`, `avx2` or `portable`; read once) and by ``kernelLevelCap``.
    public static var kernelLevel: KernelLevel { KernelLevel(nk_cpu_level()) }

    /// The best level this CPU supports, whatever the caps.
    public static var cpuKernelLevel: KernelLevel { KernelLevel(nk_hw_level()) }

    /// A process-wide cap on the kernel level (default nil: none). A cap never raises the level:
    /// above ``cpuKernelLevel`` or `NEURAL_ISA` it has no effect. Results do not depend on it.
    public static var kernelLevelCap: KernelLevel? {
        get { let c = nk_level_cap(); return c < 0 ? nil : KernelLevel(c) }
        set { nk_set_level_cap(Int32(newValue?.rawValue ?? -1)) }
    }

    /// The cap `NEURAL_ISA` sets (nil when it is unset, empty or `native`).
    ///
    /// - Throws: ``KernelLevelError`` when it names no level (the kernels then run at the portable
    ///   level, and the first one to run says so on stderr).
    public static func environmentKernelLevelCap() throws(KernelLevelError) -> KernelLevel? {
        let c = nk_env_level_cap()
        if c == -2 {
            throw KernelLevelError(value: String(cString: getenv("NEURAL_ISA")))
        }
        return c < 0 ? nil : KernelLevel(c)
    }

    /// Runs `body` with the kernels of the calling thread (and the worker-pool jobs it starts)
    /// capped at `level`, leaving other threads alone: tests that force a level run concurrently
    /// with the rest of the suite. `body` must not suspend (it is synchronous).
    package static func withKernelLevelCap<R>(_ level: KernelLevel, _ body: () throws -> R) rethrows -> R {
        let saved = nk_set_thread_level_cap(Int32(level.rawValue))
        defer { nk_set_thread_level_cap(saved) }
        return try body()
    }
}

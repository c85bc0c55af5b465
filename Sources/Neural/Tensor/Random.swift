import Foundation
import Synchronization

/// A seedable pseudo-random generator (xoshiro256**, seeded through SplitMix64). The same seed
/// gives the same numbers on every run and machine: uniform values come from integer bits and
/// normal values from Box–Muller in Double precision, then convert to the tensor's dtype.
///
/// A generator is a shared reference (pass one to several initialisers and they draw in turn);
/// it is thread-safe.
///
/// ```swift
/// let g = RandomGenerator(seed: 42)
/// let w = Tensor.randn([784, 512], generator: g)
/// ```
public final class RandomGenerator: Sendable {
    private let state: Mutex<(UInt64, UInt64, UInt64, UInt64)>

    /// The generator used when none is passed; reseed it with ``seed(_:)``.
    public static let `default` = RandomGenerator(seed: 0)

    /// A generator whose whole sequence is determined by `seed`.
    public init(seed: UInt64) {
        state = Mutex(RandomGenerator.expand(seed))
    }

    /// Restarts the sequence from `seed`.
    public func seed(_ seed: UInt64) {
        state.withLock { $0 = RandomGenerator.expand(seed) }
    }

    /// The full internal state (four words), for checkpoints; assign it back to resume the sequence exactly.
    public var stateWords: [UInt64] {
        get { state.withLock { [$0.0, $0.1, $0.2, $0.3] } }
        set {
            precondition(newValue.count == 4 && newValue.contains { $0 != 0 },
                         "Neural: RandomGenerator state must be four words, not all zero")
            state.withLock { $0 = (newValue[0], newValue[1], newValue[2], newValue[3]) }
        }
    }

    private static func expand(_ seed: UInt64) -> (UInt64, UInt64, UInt64, UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (splitmix(), splitmix(), splitmix(), splitmix())
    }

    @inline(__always)
    private static func next(_ s: inout (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// The next 64 random bits.
    package func next() -> UInt64 { state.withLock { RandomGenerator.next(&$0) } }

    /// A uniform integer in `0..<bound` (unbiased).
    package func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "Neural: nextInt(below:) needs a positive bound, got \(bound)")
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let r = next()
            if r < limit { return Int(r % b) }
        }
    }

    /// A uniform Double in [0, 1).
    package func nextUniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniformly random permutation of `0..<n` (Fisher–Yates).
    package func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) }
        }
        return p
    }

    /// Fills `count` Doubles uniform in [low, high).
    func fillUniform(_ out: UnsafeMutablePointer<Double>, count: Int, low: Double, high: Double) {
        state.withLock { s in
            for i in 0..<count { out[i] = low + (high - low) * (Double(RandomGenerator.next(&s) >> 11) * 0x1p-53) }
        }
    }

    /// Fills `count` Doubles from N(mean, std²) by Box–Muller.
    func fillNormal(_ out: UnsafeMutablePointer<Double>, count: Int, mean: Double, std: Double) {
        state.withLock { s in
            var i = 0
            while i < count {
                let u1 = 1 - Double(RandomGenerator.next(&s) >> 11) * 0x1p-53   // (0, 1]
                let u2 = Double(RandomGenerator.next(&s) >> 11) * 0x1p-53
                let r = (-2 * Foundation.log(u1)).squareRoot()
                out[i] = mean + std * r * Foundation.cos(2 * Double.pi * u2)
                if i + 1 < count { out[i + 1] = mean + std * r * Foundation.sin(2 * Double.pi * u2) }
                i += 2
            }
        }
    }
}

import Foundation

/// Training asked for more memory than the machine has available, found before allocating it.
///
/// ``description`` is one line with the bytes needed (a lower bound) and the bytes available,
/// e.g. `not enough memory for the model mlp(100000000000) with its gradients and optimizer state:
/// it needs at least 1.6 TB (1600000001200 bytes) but 20.1 GB (20123456789 bytes) are available`.
public struct InsufficientMemoryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What needs the memory, e.g. `the model mlp(512) …` or `a batch of 800 examples …`.
    public let subject: String
    /// Bytes needed (a lower bound).
    public let bytesNeeded: Int
    /// Bytes available to this process (``MemoryBudget/availableBytes()``).
    public let bytesAvailable: Int
    /// What to do about it.
    public let hint: String

    /// An error for `subject` needing `bytesNeeded` of `bytesAvailable` bytes.
    public init(subject: String, bytesNeeded: Int, bytesAvailable: Int, hint: String) {
        self.subject = subject
        self.bytesNeeded = bytesNeeded
        self.bytesAvailable = bytesAvailable
        self.hint = hint
    }

    /// One line: what, the bytes needed and available, and the fix.
    public var description: String {
        "not enough memory for \(subject): it needs at least \(MemoryBudget.format(bytesNeeded)) (\(bytesNeeded) bytes) "
            + "but \(MemoryBudget.format(bytesAvailable)) (\(bytesAvailable) bytes) are available; \(hint)"
    }
}

/// A lower bound on the memory a network takes to train, from its spec alone
/// (``ModelSpec/memoryEstimate(inputShape:outputSize:)``), before any parameter is allocated.
public struct MemoryEstimate: Sendable, Equatable {
    /// Scalar parameters and buffers of the network (a `Double`: a spec can ask for more than `Int` counts).
    public var parameters: Double
    /// Scalars one example flows through: the input and every layer's output, per example.
    public var activationsPerExample: Double

    /// A lower bound on the bytes of the model's state in training: the parameters, their
    /// gradients and `optimizerSlots` tensors of the same size each (Adam keeps 2 moments, SGD
    /// with momentum 1), at `bytesPerScalar` (4 for Float32).
    public func modelBytes(optimizerSlots: Int, bytesPerScalar: Int = 4) -> Double {
        parameters * Double(2 + optimizerSlots) * Double(bytesPerScalar)
    }

    /// A lower bound on the bytes one training step of `batchSize` examples adds: the input and every
    /// layer's output, which the backward pass keeps (intermediate values of a layer and the
    /// gradients with respect to the activations come on top, so the real peak is higher).
    public func batchBytes(batchSize: Int, bytesPerScalar: Int = 4) -> Double {
        activationsPerExample * Double(batchSize) * Double(bytesPerScalar)
    }
}

/// The memory this process can still use, and up-front checks against it.
public enum MemoryBudget {
    /// Bytes this process can still allocate: `MemAvailable` of `/proc/meminfo`, lowered to the
    /// room left under the cgroup's limit (`/sys/fs/cgroup/memory.max` − `memory.current`) when one
    /// is set; nil where neither can be read (not Linux).
    public static func availableBytes() -> Int? {
        var available: Int?
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            available = kB * 1024
        }
        func number(_ path: String) -> Int? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let limit = number("/sys/fs/cgroup/memory.max") {   // "max" (no limit) does not parse
            let room = Swift.max(0, limit - (number("/sys/fs/cgroup/memory.current") ?? 0))
            available = Swift.min(available ?? room, room)
        }
        return available
    }

    /// Throws ``InsufficientMemoryError`` when `bytes` exceed ``availableBytes()`` (nothing when
    /// that is unknown).
    public static func check(_ bytes: Double, for subject: String, hint: String) throws(InsufficientMemoryError) {
        guard let available = availableBytes(), bytes > Double(available) else { return }
        let needed = bytes >= Double(Int.max) ? Int.max : Int(bytes.rounded(.up))
        throw InsufficientMemoryError(subject: subject, bytesNeeded: needed, bytesAvailable: available, hint: hint)
    }

    /// `bytes` for people: `512 B`, `3.2 MB`, `1.6 TB` (powers of 1000).
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}

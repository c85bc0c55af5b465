import Foundation
import Synchronization
#if MPI
import CMPI
#endif

/// The processes that train one model together (data parallelism), and the collective
/// operations among them: allreduce, broadcast, barrier.
///
/// ``world`` is every process of the job. Built with the package trait `MPI` and started by an
/// MPI launcher (`mpirun -np 4 …`), it is Open MPI's `MPI_COMM_WORLD`: ranks 0…size−1, possibly
/// on several machines. Built without the trait, or started without a launcher, it is a group of
/// one process (rank 0, size 1) whose collectives do nothing, so the same program runs unchanged
/// on one process. `threads(_:)` makes a group of in-process ranks (one thread each) with the
/// same semantics, for tests and experiments without MPI.
///
/// Every rank must call the same collectives in the same order (the MPI rule); a rank that
/// fails calls `abort(_:code:)` so the others stop instead of waiting for it.
///
/// ```swift
/// let group = ProcessGroup.world
/// var sums = group.allreduceSum([localLoss, Double(localCount)])   // same on every rank
/// if group.isRoot { print("mean loss", sums[0] / sums[1]) }
/// ```
public final class ProcessGroup: Sendable {
    let backend: any Collectives

    init(backend: any Collectives) { self.backend = backend }

    /// This process's index in the group, 0..<``size``.
    public var rank: Int { backend.rank }
    /// Number of processes in the group.
    public var size: Int { backend.size }
    /// Whether this is rank 0, the process that logs and writes files.
    public var isRoot: Bool { backend.rank == 0 }
    /// Processes of the group on this machine (for choosing kernel threads per process).
    package var localSize: Int { backend.localSize }
    /// `mpi`, `threads` or `single`.
    package var backendName: String { backend.name }

    /// Whether this build includes Open MPI (the package trait `MPI`).
    package static var isMPICompiled: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// Whether the environment shows an MPI launcher started this process (Open MPI's `mpirun`
    /// sets `OMPI_COMM_WORLD_SIZE`; PMIx launchers set `PMIX_RANK`) or `NEURAL_MPI=1` asks for MPI.
    package static var isLaunchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_SIZE"] != nil
            || env["NEURAL_MPI"] == "1"
    }

    /// Every process of the job: MPI's world when built with the `MPI` trait and launched by
    /// `mpirun` (MPI is initialised on first use and finalised at exit), otherwise one process.
    public static let world: ProcessGroup = {
        #if MPI
        if isLaunchedByMPI { return ProcessGroup(backend: MPICollectives.initialize()) }
        #endif
        return ProcessGroup(backend: SingleProcessCollectives())
    }()

    /// A group of one process: rank 0, size 1; collectives return their input.
    package static func single() -> ProcessGroup { ProcessGroup(backend: SingleProcessCollectives()) }

    /// `size` ranks inside this process, one per thread: element r is rank r's group. Run each
    /// rank's code on its own thread (collectives block until every rank has called them). Sums
    /// add the ranks' values in rank order, so results are deterministic.
    package static func threads(_ size: Int) -> [ProcessGroup] {
        precondition(size >= 1, "Neural: a process group needs at least one rank, got \(size)")
        let shared = ThreadCollectives.Shared(size: size)
        return (0..<size).map { ProcessGroup(backend: ThreadCollectives(rank: $0, shared: shared)) }
    }

    // MARK: Collectives

    /// Replaces the `count` Floats at `buffer` by their elementwise sum over all ranks.
    package func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {
        guard let base = buffer.baseAddress, size > 1 else { return }
        backend.allreduceSum(UnsafeMutableRawPointer(base), count: buffer.count, dtype: .float32)
    }

    /// Replaces the `count` Doubles at `buffer` by their elementwise sum over all ranks.
    package func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {
        guard let base = buffer.baseAddress, size > 1 else { return }
        backend.allreduceSum(UnsafeMutableRawPointer(base), count: buffer.count, dtype: .float64)
    }

    /// The elementwise sum of `values` over all ranks (the same array on every rank).
    package func allreduceSum(_ values: [Double]) -> [Double] {
        var out = values
        out.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return out
    }

    /// The elementwise sum of `tensor` over all ranks (same shape on every rank), as a new tensor
    /// without autodiff history.
    public func allreduceSum(_ tensor: Tensor) -> Tensor {
        var t = tensor.detached()
        guard size > 1 else { return t }
        t.makeUniqueContiguous()
        backend.allreduceSum(t.storage.raw + t.offset * t.dtype.byteSize, count: t.count, dtype: t.dtype)
        return t
    }

    /// `tensor` as rank `root` holds it (same shape and dtype on every rank), without autodiff history.
    public func broadcast(_ tensor: Tensor, root: Int = 0) -> Tensor {
        precondition((0..<size).contains(root), "Neural: broadcast root \(root) is not a rank of a group of \(size)")
        var t = tensor.detached()
        guard size > 1 else { return t }
        t.makeUniqueContiguous()
        backend.broadcast(t.storage.raw + t.offset * t.dtype.byteSize, bytes: t.count * t.dtype.byteSize, root: root)
        return t
    }

    /// Waits until every rank has called `barrier()`.
    public func barrier() {
        guard size > 1 else { return }
        backend.barrier()
    }

    /// Prints `message` (prefixed with the rank) to standard error and stops every rank of the
    /// job with exit status `code` (`MPI_Abort`); in a single process, exits.
    package func abort(_ message: String, code: Int32 = 1) -> Never {
        backend.abort(message, code: code)
    }

    /// Runs `body` and, if it throws on this rank while others run, aborts the whole job with the
    /// error's message (so the other ranks do not wait forever in their next collective).
    /// In a group of one, the error is rethrown.
    package func abortingOnError<R>(_ body: () throws -> R) rethrows -> R {
        guard size > 1 else { return try body() }
        do {
            return try body()
        } catch {
            abort("error: " + String(describing: error).split(separator: "\n").joined(separator: " "))
        }
    }
}

/// The operations a ``ProcessGroup`` delegates to its transport.
protocol Collectives: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    var localSize: Int { get }
    var name: String { get }
    /// In-place elementwise sum over all ranks of `count` elements of `dtype` at `pointer`.
    func allreduceSum(_ pointer: UnsafeMutableRawPointer, count: Int, dtype: DType)
    /// Copies `bytes` bytes at `pointer` on rank `root` into `pointer` on every other rank.
    func broadcast(_ pointer: UnsafeMutableRawPointer, bytes: Int, root: Int)
    func barrier()
    func abort(_ message: String, code: Int32) -> Never
    /// Whether collectives may be called from a thread other than the one that created the
    /// group (one thread at a time): data-parallel training then overlaps backward and allreduce.
    var allowsCommunicationThread: Bool { get }
}

/// One process: nothing to communicate.
final class SingleProcessCollectives: Collectives {
    var rank: Int { 0 }
    var size: Int { 1 }
    var localSize: Int { 1 }
    var name: String { "single" }
    var allowsCommunicationThread: Bool { true }
    func allreduceSum(_ pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {}
    func broadcast(_ pointer: UnsafeMutableRawPointer, bytes: Int, root: Int) {}
    func barrier() {}
    func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data(("neural: " + message + "\n").utf8))
        exit(code)
    }
}

/// Ranks as threads of one process, meeting at a shared rendezvous.
final class ThreadCollectives: Collectives, @unchecked Sendable {
    /// The rendezvous: each collective is two barriers around the data exchange.
    final class Shared: @unchecked Sendable {
        let size: Int
        let condition = NSCondition()
        var arrived = 0
        var generation = 0
        var pointers: [UnsafeMutableRawPointer?]
        init(size: Int) {
            self.size = size
            pointers = Array(repeating: nil, count: size)
        }

        func wait() {
            condition.lock()
            let g = generation
            arrived += 1
            if arrived == size {
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == g { condition.wait() }
            }
            condition.unlock()
        }
    }

    let rank: Int
    let shared: Shared
    init(rank: Int, shared: Shared) {
        self.rank = rank
        self.shared = shared
    }

    var size: Int { shared.size }
    var localSize: Int { shared.size }
    var name: String { "threads" }
    var allowsCommunicationThread: Bool { true }

    func allreduceSum(_ pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {
        shared.pointers[rank] = pointer
        shared.wait()
        // Rank r sums its own slice over all ranks in rank order and writes it back everywhere:
        // slices are disjoint, so no element is read after another rank wrote it.
        let lo = count * rank / size, hi = count * (rank + 1) / size
        let all = shared.pointers.map { $0! }
        switch dtype {
        case .float32: Self.sumSlice(all, Float.self, lo, hi)
        case .float64: Self.sumSlice(all, Double.self, lo, hi)
        case .int32, .int64: dtype.floatOnly("allReduce")
        }
        shared.wait()
    }

    private static func sumSlice<T: TensorScalar>(_ all: [UnsafeMutableRawPointer], _: T.Type, _ lo: Int, _ hi: Int) {
        let ptrs = all.map { $0.assumingMemoryBound(to: T.self) }
        for i in lo..<hi {
            var s = ptrs[0][i]
            for r in 1..<ptrs.count { s += ptrs[r][i] }
            for r in 0..<ptrs.count { ptrs[r][i] = s }
        }
    }

    func broadcast(_ pointer: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        shared.pointers[rank] = pointer
        shared.wait()
        if rank != root { memcpy(pointer, shared.pointers[root]!, bytes) }
        shared.wait()
    }

    func barrier() { shared.wait() }

    func abort(_ message: String, code: Int32) -> Never {
        fatalError("Neural: rank \(rank) of \(size): \(message)")
    }
}

#if MPI
/// Open MPI's `MPI_COMM_WORLD`. Every MPI call holds `lock`: MPI is initialised with
/// `MPI_THREAD_SERIALIZED`, so any one thread at a time may communicate.
final class MPICollectives: Collectives, @unchecked Sendable {
    let rank: Int
    let size: Int
    let localSize: Int
    let allowsCommunicationThread: Bool
    var name: String { "mpi" }
    private let lock = NSLock()

    private init(rank: Int, size: Int, localSize: Int, serialized: Bool) {
        self.rank = rank
        self.size = size
        self.localSize = localSize
        self.allowsCommunicationThread = serialized
    }

    /// `MPI_Init_thread` (unless already initialised) and an exit handler that finalises MPI.
    static func initialize() -> MPICollectives {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var provided: Int32 = 0
        if initialized == 0 {
            MPI_Init_thread(nil, nil, nmpi_thread_serialized(), &provided)
            atexit {
                var finalized: Int32 = 0
                MPI_Finalized(&finalized)
                if finalized == 0 { MPI_Finalize() }
            }
        } else {
            MPI_Query_thread(&provided)
        }
        var rank: Int32 = 0, size: Int32 = 1
        MPI_Comm_rank(nmpi_comm_world(), &rank)
        MPI_Comm_size(nmpi_comm_world(), &size)
        let local = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
        return MPICollectives(rank: Int(rank), size: Int(size), localSize: max(1, local),
                              serialized: provided >= nmpi_thread_serialized())
    }

    func allreduceSum(_ pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {
        let type = dtype == .float32 ? nmpi_float() : nmpi_double()
        lock.lock()
        defer { lock.unlock() }
        var done = 0
        while done < count {   // MPI counts are Int32
            let n = min(count - done, 1 << 30)
            MPI_Allreduce(nmpi_in_place(), pointer + done * dtype.byteSize, Int32(n), type, nmpi_sum(), nmpi_comm_world())
            done += n
        }
    }

    func broadcast(_ pointer: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        lock.lock()
        defer { lock.unlock() }
        var done = 0
        while done < bytes {
            let n = min(bytes - done, 1 << 30)
            MPI_Bcast(pointer + done, Int32(n), nmpi_byte(), Int32(root), nmpi_comm_world())
            done += n
        }
    }

    func barrier() {
        lock.lock()
        defer { lock.unlock() }
        MPI_Barrier(nmpi_comm_world())
    }

    func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("neural: rank \(rank) of \(size): \(message); stopping all ranks\n".utf8))
        MPI_Abort(nmpi_comm_world(), code)
        exit(code)
    }
}
#endif

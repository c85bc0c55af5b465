import ArgumentParser
import Foundation
import Neural

#if canImport(Glibc)
import Glibc
#endif

/// Options shared by every benchmark case.
struct BenchOptions: ParsableArguments {
    @Option(help: "Threads to use; the process is pinned to the first N CPUs.")
    var threads: Int = 1

    @Flag(help: "Fewer repeats (3 instead of 7), for a smoke test.")
    var quick = false

    @Option(help: "GEMM A operands read in place by the micro-kernel: auto, on or off (packed), for A/B runs.")
    var aInPlace = "auto"

    @Option(help: "GEMM B operands read in place by the micro-kernel: auto, on or off (packed), for A/B runs.")
    var bInPlace = "auto"

    @Flag(help: """
        Instead of the protocol (sgemm, mlp, cnn): alternate all-packed GEMM operands with the chosen \
        --a-in-place/--b-in-place settings in adjacent runs in one process and print the median speedup \
        over the pairs (an A/B test that the machine's slow phases affect on both sides).
        """)
    var abInPlace = false

    /// Timed repeats per measurement.
    var reps: Int { quick ? 3 : 7 }

    /// Sets `Runtime.threads` and pins the process to CPUs 0..<threads. Call first in `run()`.
    func apply() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        do { _ = try Runtime.environmentKernelLevelCap() } catch { throw ValidationError(error.description) }
        Bench.pin(cpus: threads)
        Runtime.threads = threads
        BLAS._readsAInPlace = try Self.inPlace(aInPlace, option: "--a-in-place")
        BLAS._readsBInPlace = try Self.inPlace(bInPlace, option: "--b-in-place")
    }

    private static func inPlace(_ value: String, option: String) throws -> Bool? {
        switch value {
        case "auto": return nil
        case "on": return true
        case "off": return false
        default: throw ValidationError("\(option) must be auto, on or off, got '\(value)'")
        }
    }
}

/// Timing, calibration and reporting, mirroring the peers' `common.py`.
enum Bench {
    /// Monotonic wall clock in seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// CPU seconds used by this process (user + system, all threads).
    static func processCPU() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        func sec(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return sec(u.ru_utime) + sec(u.ru_stime)
    }

    /// Machine-wide busy and steal CPU seconds from the first line of /proc/stat.
    static func procStat() -> (busy: Double, steal: Double) {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first else { return (0, 0) }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard v.count >= 7 else { return (0, 0) }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        // user nice system idle iowait irq softirq steal …
        let busy = v[0] + v[1] + v[2] + v[5] + v[6]
        let steal = v.count > 7 ? v[7] : 0
        return (busy / hz, steal / hz)
    }

    /// Pins every thread of the process (and so every thread it creates later) to CPUs 0..<cpus.
    static func pin(cpus: Int) {
        #if os(Linux)
        let available = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { bytes in
            for cpu in 0..<min(cpus, available, bytes.count * 8) {
                bytes[cpu / 8] |= UInt8(1 << (cpu % 8))
            }
        }
        let size = MemoryLayout<cpu_set_t>.size
        var tids: [pid_t] = [0]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") {
            tids += entries.compactMap { pid_t($0) }
        }
        // sched_setaffinity is a GNU extension the Glibc module does not export: look it up.
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "sched_setaffinity") else {
            FileHandle.standardError.write("warning: sched_setaffinity not found; not pinned\n".data(using: .utf8)!)
            return
        }
        let setAffinity = unsafeBitCast(sym, to: SetAffinity.self)
        for tid in tids {
            if withUnsafeBytes(of: &set, { setAffinity(tid, size, $0.baseAddress!) }) != 0 && tid == 0 {
                FileHandle.standardError.write("warning: sched_setaffinity failed\n".data(using: .utf8)!)
            }
        }
        #endif
    }

    /// Waits (best effort, at most `maxWait` s) until other processes use < `threshold` cores.
    @discardableResult
    static func waitIdle(maxWait: Double = 60, threshold: Double = 0.15, probe: Double = 0.5) -> Double {
        let end = now() + maxWait
        while true {
            let b0 = procStat().busy, c0 = processCPU()
            usleep(UInt32(probe * 1e6))
            let b1 = procStat().busy, c1 = processCPU()
            let load = max(0, (b1 - b0) - (c1 - c0)) / probe
            if load < threshold || now() > end { return load }
        }
    }

    /// Number of inner iterations of `body` so that one timed repeat takes about `target` s.
    static func calibrate(target: Double = 0.25, maxIters: Int = 100_000, _ body: () -> Void) -> Int {
        body()
        var n = 1
        while true {
            let t0 = now()
            for _ in 0..<n { body() }
            let dt = now() - t0
            if dt >= target / 4 || n >= maxIters {
                return max(1, min(maxIters, Int((Double(n) * target / max(dt, 1e-9)).rounded())))
            }
            n *= 4
        }
    }

    /// What one measurement saw besides its times.
    struct Meter {
        var wall = 0.0, cpuUtil = 0.0, extLoad = 0.0, steal = 0.0
    }

    /// Runs `body` `warmup` times, then `reps` timed times. Returns per-repeat seconds.
    static func timeRepeats(reps: Int, warmup: Int = 1, _ body: () -> Void) -> ([Double], Meter) {
        for _ in 0..<warmup { body() }
        var times: [Double] = []
        let (b0, s0) = procStat()
        let c0 = processCPU(), w0 = now()
        for _ in 0..<reps {
            let t0 = now()
            body()
            times.append(now() - t0)
        }
        let w1 = now(), c1 = processCPU()
        let (b1, s1) = procStat()
        var meter = Meter()
        meter.wall = w1 - w0
        let mine = c1 - c0
        if meter.wall > 0 {
            meter.cpuUtil = mine / meter.wall
            meter.extLoad = max(0, (b1 - b0) - mine) / meter.wall
            meter.steal = (s1 - s0) / meter.wall
        }
        return (times, meter)
    }

    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        if s.isEmpty { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The standard protocol: calibrate to ~0.25 s per repeat, wait for an idle machine,
    /// 1 warm-up, `reps` timed repeats, then print the RESULT line. `work` is the amount of work
    /// of one call of `body` (value = work / time); nil reports milliseconds per call.
    /// A/B test of packed against in-place GEMM operands in one process: `pairs` adjacent pairs of
    /// runs of `body` (order alternating from pair to pair), one time ratio per pair, so that the
    /// machine's slow phases fall on both sides. Prints the median speedup of the settings chosen by
    /// `--a-in-place` and `--b-in-place` over all packed, and each side's median rate.
    static func compareInPlace(_ label: String, pairs: Int, work: Double, unit: String, _ body: () -> Void) {
        let chosen = (BLAS._readsAInPlace, BLAS._readsBInPlace)
        defer { (BLAS._readsAInPlace, BLAS._readsBInPlace) = chosen }
        var packed: [Double] = [], inPlace: [Double] = [], ratios: [Double] = []
        for pair in 0..<pairs {
            for on in pair % 2 == 0 ? [false, true] : [true, false] {
                (BLAS._readsAInPlace, BLAS._readsBInPlace) = on ? chosen : (false, false)
                let t0 = now()
                body()
                let t = now() - t0
                if on { inPlace.append(t) } else { packed.append(t) }
            }
            ratios.append(packed.last! / inPlace.last!)
        }
        let rate = { (t: [Double]) in String(format: "%.4g", work / median(t)) }
        let mode = { (m: Bool?) in m.map { $0 ? "on" : "off" } ?? "auto" }
        print("# A/B \(label): in place (A \(mode(chosen.0)), B \(mode(chosen.1))) "
              + "\(String(format: "%.3f", median(ratios)))x all packed (median of \(pairs) pairs; "
              + "packed \(rate(packed)), in place \(rate(inPlace)) \(unit))")
    }

    static func measure(bench: String, threads: Int, case name: String, reps: Int,
                        work: Double?, unit: String, _ body: () -> Void) {
        let inner = calibrate(body)
        waitIdle()
        let (times, meter) = timeRepeats(reps: reps) {
            for _ in 0..<inner { body() }
        }
        report(bench: bench, threads: threads, case: name, times: times, meter: meter,
               work: work.map { $0 * Double(inner) }, perRepeat: Double(inner), unit: unit,
               extra: "inner=\(inner)")
    }

    /// Prints `RESULT bench=… lib=neural threads=… case=… value=… unit=… reps=… min=… max=…
    /// cpu_util=… ext_load=… steal=… isa=…` like `common.report` (isa: the kernel level in force,
    /// ``Runtime/kernelLevel``). `work` is per repeat; with nil the value is milliseconds per call
    /// (`perRepeat` calls per repeat).
    static func report(bench: String, threads: Int, case name: String, times: [Double], meter: Meter,
                       work: Double?, perRepeat: Double = 1, unit: String, extra: String = "") {
        let med = median(times)
        let lo, hi, val: Double
        if let work {
            val = work / med
            lo = work / (times.max() ?? med)
            hi = work / (times.min() ?? med)
        } else {
            val = med * 1e3 / perRepeat
            lo = (times.min() ?? med) * 1e3 / perRepeat
            hi = (times.max() ?? med) * 1e3 / perRepeat
        }
        func g(_ x: Double) -> String { String(format: "%.4g", x) }
        func f2(_ x: Double) -> String { String(format: "%.2f", x) }
        var line = "RESULT bench=\(bench) lib=neural threads=\(threads) case=\(name) value=\(g(val)) "
            + "unit=\(unit) reps=\(times.count) min=\(g(lo)) max=\(g(hi)) cpu_util=\(f2(meter.cpuUtil)) "
            + "ext_load=\(f2(meter.extLoad)) steal=\(f2(meter.steal)) isa=\(Runtime.kernelLevel)"
        if !extra.isEmpty { line += " " + extra }
        print(line)
        fflush(nil)
    }
}

/// Deterministic pseudo-random numbers for benchmark inputs (SplitMix64).
struct BenchRandom {
    var state: UInt64

    init(seed: UInt64 = 0) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

/// The peers' synthetic workloads.
extension Bench {
    /// Synthetic classification data as in the peers' scripts: `shape[0]` examples uniform in
    /// [0, 1) drawn from `generator`, labels uniform in `0..<classes` from `BenchRandom(seed: 0)`.
    static func syntheticData(_ shape: [Int], classes: Int, generator: RandomGenerator) -> (x: Tensor, labels: [Int]) {
        let x = Tensor.uniform(shape, generator: generator)
        var rng = BenchRandom(seed: 0)
        let labels = (0..<shape[0]).map { _ in Int(rng.next() % UInt64(classes)) }
        return (x, labels)
    }

    /// The ReLU MLP `inputs`-`hidden`-`hidden`-`outputs`, initialised from `generator`.
    static func mlp(_ inputs: Int, hidden: Int, outputs: Int, generator g: RandomGenerator) -> Sequential {
        Sequential(Linear(inputs, hidden, generator: g), ReLU(), Linear(hidden, hidden, generator: g), ReLU(),
                   Linear(hidden, outputs, generator: g))
    }
}

/// The peers' training-throughput protocol (bench_mlp.py, bench_cnn.py): plain SGD with softmax
/// cross-entropy on batches of `batch` rows of `x` taken in order, `warm` warm-up steps, then `reps`
/// timed repeats of `steps` steps; reports samples/s and the effective GFLOP/s.
extension Bench {
    static func trainingThroughput(bench: String, case name: String, threads: Int, model: Sequential,
                                   x: Tensor, labels: [Int], batch b: Int, learningRate: Double,
                                   steps: Int, reps: Int, warm: Int, flopPerSample: Double, mflopDigits: Int,
                                   abInPlace: Bool = false) {
        let nb = x.shape[0] / b
        let optimizer = SGD(model.parameters, learningRate: learningRate)
        var counter = 0
        var lastLoss = Double.nan
        // Seconds in the forward pass, the loss, the backward pass and the update, and the step count.
        var phase = [Double](repeating: 0, count: 5)
        defer {
            let ms = phase.prefix(4).map { String(format: "%.3f", $0 / Swift.max(phase[4], 1) * 1e3) }
            print("#   per step (ms): forward \(ms[0]), loss \(ms[1]), backward \(ms[2]), optimizer \(ms[3])")
        }
        func train(_ n: Int) {
            for _ in 0..<n {
                let i = counter % nb
                counter += 1
                let t0 = now()
                optimizer.zeroGrad()
                let logits = model(x[i * b..<(i + 1) * b])
                let t1 = now()
                let loss = crossEntropyLoss(logits: logits, labels: Array(labels[i * b..<(i + 1) * b]))
                let t2 = now()
                loss.backward()
                let t3 = now()
                optimizer.step()
                let t4 = now()
                lastLoss = loss.item()
                phase[0] += t1 - t0; phase[1] += t2 - t1; phase[2] += t3 - t2; phase[3] += t4 - t3; phase[4] += 1
            }
        }
        train(warm)
        waitIdle()
        if abInPlace {
            let block = Swift.max(1, steps / 10)
            compareInPlace("\(bench) \(name) threads=\(threads)", pairs: reps * 10, work: Double(block * b),
                            unit: "samples/s") { train(block) }
            return
        }
        let (times, meter) = timeRepeats(reps: reps, warmup: 0) { train(steps) }
        let work = Double(steps * b)
        report(bench: bench, threads: threads, case: name, times: times, meter: meter, work: work, unit: "samples/s",
               extra: "steps_per_rep=\(steps) loss_end=\(String(format: "%.4f", lastLoss))")
        let value = work / median(times)
        print("#   -> \(String(format: "%.1f", value * flopPerSample / 1e9)) GFLOP/s effective "
              + "(\(String(format: "%.\(mflopDigits)f", flopPerSample / 1e6)) MFLOP/sample)")
    }
}

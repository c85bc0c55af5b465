import Foundation

extension LRSchedule {
    /// Linear warm-up, then cosine decay: α(t + 1)/`warmup` for t < `warmup` (so step `warmup` − 1
    /// reaches α), then `minimum` + (α − `minimum`)(1 + cos(π p))/2 with p = (t − `warmup`)/(`total` − `warmup`),
    /// reaching `minimum` at t = `total` (nanoGPT's schedule, and
    /// `../shared/peers/train_gpt_shakespeare.py`'s `lr_at` with `warmup` 100, α 1e-3, `minimum` 1e-4).
    ///
    /// - Parameters:
    ///   - warmup: warm-up steps (0: none).
    ///   - total: the run's steps.
    ///   - minimumFactor: the final rate as a fraction of α (0.1: α/10).
    public static func warmupCosine(warmup: Int, total: Int, minimumFactor: Double = 0.1) -> LRSchedule {
        precondition(warmup >= 0 && total > 0, "Neural: LRSchedule.warmupCosine needs warmup ≥ 0 and total > 0, got \(warmup), \(total)")
        return LRSchedule { t, base in
            if t < warmup { return base * Double(t + 1) / Double(warmup) }
            let p = Swift.min(Double(t - warmup) / Double(Swift.max(1, total - warmup)), 1)
            let minimum = base * minimumFactor
            return minimum + 0.5 * (base - minimum) * (1 + Foundation.cos(Double.pi * p))
        }
    }
}

import Foundation

/// How an axis maps data values to positions.
public enum AxisScale: Sendable, Equatable {
    /// Positions proportional to the value.
    case linear
    /// Positions proportional to log₁₀ of the value; values ≤ 0 are skipped.
    case log
}

/// "Nice" axis ticks (steps of 1, 2 or 5 times a power of ten) and their labels.
package enum Ticks {
    /// The smallest step of the form {1, 2, 5}·10ᵏ that covers `span` in at most `targetCount`
    /// intervals. Returns 1 for a span that is not positive and finite.
    package static func niceStep(span: Double, targetCount: Int) -> Double {
        guard span.isFinite, span > 0 else { return 1 }
        let raw = span / Double(max(1, targetCount))
        let exponent = Foundation.floor(Foundation.log10(raw))
        let magnitude = Foundation.pow(10, exponent)
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 + 1e-9 ? 1 : fraction <= 2 + 1e-9 ? 2 : fraction <= 5 + 1e-9 ? 5 : 10
        return nice * magnitude
    }

    /// Tick values with a nice step inside `[min, max]` (both ends included when they fall on a
    /// multiple of the step), about `targetCount` intervals apart at most. Values are exact
    /// decimals as far as Double allows (0.3, not 0.30000000000000004) and −0 is written 0.
    package static func linear(min lo: Double, max hi: Double, targetCount: Int = 6) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi >= lo else { return [] }
        if hi == lo { return [lo] }
        let step = niceStep(span: hi - lo, targetCount: targetCount)
        let exponent = Int(Foundation.floor(Foundation.log10(step) + 1e-9))
        // step = mantissa·10^exponent with a small integer mantissa (1, 2, 5 or 10).
        let mantissa = (step / Foundation.pow(10, Double(exponent))).rounded()
        guard Swift.max(Swift.abs(lo), Swift.abs(hi)) / step < 1e12 else { return [lo, hi] }
        let first = Int((lo / step - 1e-9).rounded(.up)), last = Int((hi / step + 1e-9).rounded(.down))
        guard first <= last, last - first < 10_000 else { return [] }
        return (first...last).map { i in
            let units = Double(i) * mantissa
            let v = exponent < 0 ? units / Foundation.pow(10, Double(-exponent)) : units * Foundation.pow(10, Double(exponent))
            return v == 0 ? 0 : v
        }
    }

    /// Ticks for a log axis over `[min, max]` (both positive): powers of ten (every k-th decade
    /// when there are many), adding 2× and 5× multiples when the range spans about one decade,
    /// and falling back to linear nice ticks when it is narrower still.
    package static func log(min lo: Double, max hi: Double, targetCount: Int = 6) -> [Double] {
        guard lo.isFinite, hi.isFinite, lo > 0, hi >= lo else { return [] }
        let e0 = Int(Foundation.floor(Foundation.log10(lo) + 1e-9)), e1 = Int(Foundation.ceil(Foundation.log10(hi) - 1e-9))
        let inside = { (v: Double) in v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) }
        let decades = e1 - e0
        if decades >= 2 {
            let every = max(1, Int((Double(decades) / Double(max(1, targetCount))).rounded(.up)))
            let ticks = stride(from: e0, through: e1, by: 1).filter { $0 % every == 0 }
                .map { powerOfTen($0) }.filter(inside)
            if ticks.count >= 2 { return ticks }
        }
        var ticks: [Double] = []
        for e in e0...max(e0, e1) {
            for m in [1.0, 2, 5] {
                let v = e < 0 ? m / powerOfTen(-e) : m * powerOfTen(e)
                if inside(v) { ticks.append(v) }
            }
        }
        if ticks.count >= 3 { return ticks }
        return linear(min: lo, max: hi, targetCount: min(targetCount, 4)).filter { $0 > 0 }
    }

    /// A label for tick `value` on an axis whose ticks are `step` apart: just enough decimals for
    /// the step, thousands as `k`, millions as `M` and billions as `G` when `largest` (the largest
    /// magnitude among the ticks) reaches 10⁴, exponent form for very small steps, and a true minus
    /// sign (U+2212) for negatives.
    package static func label(_ value: Double, step: Double, largest: Double) -> String {
        guard value.isFinite else { return "" }
        if value == 0 { return "0" }
        var v = value, s = abs(step), suffix = ""
        if largest >= 1e9 { v /= 1e9; s /= 1e9; suffix = "G" }
        else if largest >= 1e6 { v /= 1e6; s /= 1e6; suffix = "M" }
        else if largest >= 1e4 { v /= 1e3; s /= 1e3; suffix = "k" }
        if s > 0 && s < 1e-4 && suffix.isEmpty {
            return minus(String(format: "%.*g", 3, v).replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e"))
        }
        let decimals = s > 0 ? max(0, min(10, -Int(Foundation.floor(Foundation.log10(s) + 1e-9)))) : 2
        return minus(String(format: "%.*f", decimals, v)) + suffix
    }

    /// A label for a power-of-ten-ish tick on a log axis: plain decimals from 0.001 to 10⁵
    /// (`0.01`, `200`), exponent form (`1e-5`, `2e7`) outside.
    package static func logLabel(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "" }
        if value >= 1e-3 && value < 1e5 {
            let decimals = max(0, -Int(Foundation.floor(Foundation.log10(value) + 1e-9)))
            return String(format: "%.*f", decimals, value)
        }
        let e = Int(Foundation.floor(Foundation.log10(value) + 1e-9))
        let m = (value / Foundation.pow(10, Double(e))).rounded()
        return (m == 1 ? "1" : String(Int(m))) + "e" + minus(String(e))
    }

    private static func powerOfTen(_ e: Int) -> Double { Foundation.pow(10, Double(e)) }

    private static func minus(_ s: String) -> String {
        s.replacingOccurrences(of: "-", with: "\u{2212}")
    }
}

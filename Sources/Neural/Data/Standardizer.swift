import Foundation

/// Per-column standardisation z = (x − μ)/σ with statistics fitted on one set (the training split)
/// and stored, so the same map applies to validation, test and new data, and ``inverse(_:)``
/// converts predictions back to original units (dollars for housing prices).
///
/// Columns are the elements of one example: for `x` `[n, d]`, d columns (for `[n, …]`, the
/// product of the trailing dimensions). σ is the population standard deviation; a constant
/// column gets σ = 1. Columns excluded when fitting (one-hot indicators) get μ = 0, σ = 1.
///
/// ```swift
/// let scaler = Standardizer.fit(train.inputs)        // μ, σ from the training rows only
/// let z = scaler.transform(test.inputs)              // [n, d]
/// let dollars = targetScaler.inverse(predictions)    // [n, 1] back in original units
/// ```
public struct Standardizer: Sendable, Codable, Equatable {
    /// μ per column.
    public let mean: [Double]
    /// σ per column (never 0).
    public let std: [Double]

    /// A standardizer with the given statistics.
    package init(mean: [Double], std: [Double]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 },
                     "Neural: Standardizer needs one positive std per mean")
        self.mean = mean
        self.std = std
    }

    /// Fits μ and σ per column of `x` `[n, …]`; columns whose `columns` entry is false keep μ = 0, σ = 1.
    public static func fit(_ x: Tensor, columns: [Bool]? = nil) -> Standardizer {
        precondition(x.rank >= 1 && x.shape[0] > 0, "Neural: Standardizer.fit needs at least one example")
        let n = x.shape[0], d = x.count / n
        precondition(columns == nil || columns!.count == d, "Neural: \(columns!.count) column flags for \(d) columns")
        let v = x.scalars(as: Double.self)
        var mean = [Double](repeating: 0, count: d), std = [Double](repeating: 1, count: d)
        for j in 0..<d where columns?[j] ?? true {
            var s = 0.0
            for i in 0..<n { s += v[i * d + j] }
            let m = s / Double(n)
            var q = 0.0
            for i in 0..<n { let e = v[i * d + j] - m; q += e * e }
            let sd = (q / Double(n)).squareRoot()
            mean[j] = m
            std[j] = sd > 1e-12 * Swift.max(1, abs(m)) && sd.isFinite ? sd : 1
        }
        return Standardizer(mean: mean, std: std)
    }

    /// (x − μ)/σ per column, `[n, …]` → `[n, …]`, same dtype.
    public func transform(_ x: Tensor) -> Tensor { apply(x) { ($0 - mean[$1]) / std[$1] } }

    /// z·σ + μ per column: the inverse of ``transform(_:)``.
    public func inverse(_ z: Tensor) -> Tensor { apply(z) { $0 * std[$1] + mean[$1] } }

    /// Applies `f(value, column)` to every element.
    private func apply(_ x: Tensor, _ f: (Double, Int) -> Double) -> Tensor {
        let n = x.shape[0], d = n == 0 ? mean.count : x.count / n
        precondition(d == mean.count, "Neural: Standardizer fitted on \(mean.count) columns applied to shape \(x.shape)")
        var v = x.scalars(as: Double.self)
        for i in 0..<v.count { v[i] = f(v[i], i % d) }
        return Tensor(v, shape: x.shape, dtype: x.dtype)
    }
}

/// Seeded train/validation/test splits of a dataset, optionally standardised with statistics from
/// the training split only (inputs per column; regression targets too, so losses are on a unit
/// scale and ``targetScaler`` converts predictions back to original units).
///
/// ```swift
/// let housing = try CSVDataset.load(path: path, target: "median_house_value")
/// let splits = DatasetSplits(housing.dataset, fractions: [0.8, 0.1, 0.1], generator: RandomGenerator(seed: 0),
///                            inputColumns: housing.encoding.numericMask)
/// // train on splits.train; report RMSE in dollars via splits.targetScaler!.inverse(prediction)
/// ```
package struct DatasetSplits: Sendable {
    /// The training examples (standardised when asked).
    package let train: TensorDataset
    /// The validation examples (nil when only `[train, test]` fractions were given).
    package let validation: TensorDataset?
    /// The test examples.
    package let test: TensorDataset
    /// The map applied to the inputs, fitted on ``train`` (nil when not standardising).
    package let inputScaler: Standardizer?
    /// The map applied to regression targets, fitted on ``train`` (nil for labels or when not standardising).
    package let targetScaler: Standardizer?

    /// Splits `dataset` with ``TensorDataset/split(fractions:generator:)``.
    ///
    /// - Parameters:
    ///   - fractions: `[train, test]` or `[train, validation, test]`, summing to 1.
    ///   - standardizeInputs: fit a ``Standardizer`` on the training inputs and apply it to every split.
    ///   - inputColumns: which input columns to standardise (default all; pass
    ///     ``CSVEncoding/numericMask`` to leave one-hot columns as 0/1).
    ///   - standardizeTargets: the same for regression targets.
    package init(_ dataset: TensorDataset, fractions: [Double], generator: RandomGenerator,
                standardizeInputs: Bool = true, inputColumns: [Bool]? = nil, standardizeTargets: Bool = true) {
        precondition(fractions.count == 2 || fractions.count == 3, "Neural: give [train, test] or [train, validation, test] fractions")
        var parts = dataset.split(fractions: fractions, generator: generator)
        precondition(parts.first!.count > 0, "Neural: the training split is empty")
        let inputScaler = standardizeInputs ? Standardizer.fit(parts[0].inputs, columns: inputColumns) : nil
        var targetScaler: Standardizer?
        if standardizeTargets, let t = parts[0].targetValues { targetScaler = Standardizer.fit(t) }
        parts = parts.map { p in
            let x = inputScaler.map { $0.transform(p.inputs) } ?? p.inputs
            switch p.targets {
            case .labels(let l, let c): return TensorDataset(inputs: x, labels: l, classCount: c)
            case .values(let t): return TensorDataset(inputs: x, targets: targetScaler.map { $0.transform(t) } ?? t)
            }
        }
        self.train = parts[0]
        self.validation = parts.count == 3 ? parts[1] : nil
        self.test = parts[parts.count - 1]
        self.inputScaler = inputScaler
        self.targetScaler = targetScaler
    }
}

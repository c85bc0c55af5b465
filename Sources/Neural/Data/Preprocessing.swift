import Foundation

/// How raw data became model inputs during training, and how model outputs map back to the
/// target's units: the CSV column encoding, the input standardizer and the target standardizer.
///
/// A model trained on standardised features expects standardised features; ``Checkpoint`` stores
/// this value (the checkpoint metadata key `preprocessing`) so that prediction applies exactly the
/// map fitted on the training split, never statistics of the new data.
///
/// ```swift
/// let prep = Preprocessing(encoding: housing.encoding, inputScaler: splits.inputScaler,
///                          targetScaler: splits.targetScaler)
/// let x = try prep.inputs(CSVTable.read(path: "new-houses.csv"))   // [n, d], standardised
/// let dollars = prep.outputs(model(x))                              // [n, 1], original units
/// ```
public struct Preprocessing: Sendable, Codable, Equatable {
    /// The encoding of CSV feature columns (nil when training data was not a CSV file).
    package var encoding: CSVEncoding?
    /// The per-feature standardizer fitted on the training split (nil: inputs used as they are).
    package var inputScaler: Standardizer?
    /// The regression target's standardizer (nil: outputs are already in the target's units).
    package var targetScaler: Standardizer?
    /// Class names, by class index, for a classification target read from text (nil otherwise).
    public var classNames: [String]?

    /// A preprocessing description from its parts (all optional).
    package init(encoding: CSVEncoding? = nil, inputScaler: Standardizer? = nil,
                targetScaler: Standardizer? = nil, classNames: [String]? = nil) {
        self.encoding = encoding
        self.inputScaler = inputScaler
        self.targetScaler = targetScaler
        self.classNames = classNames
    }

    /// Whether this does nothing (no encoding, no scaling, no class names).
    package var isIdentity: Bool { self == Preprocessing() }

    /// Model inputs `[n, d]` from a CSV table: encoded with `encoding` when there is one (the
    /// table must have the training file's feature columns; others, such as the target, are
    /// ignored), else every column parsed as a number; then standardised.
    ///
    /// - Throws: ``DataError`` naming the line and column of a cell that is not a number or an
    ///   unknown category, or a missing column.
    public func inputs(_ table: CSVTable, dtype: DType = .float32) throws -> Tensor {
        let raw: Tensor
        if let encoding {
            raw = try encoding.encode(table, dtype: dtype)
        } else {
            var values: [Double] = []
            values.reserveCapacity(table.rows.count * table.header.count)
            for (r, row) in table.rows.enumerated() {
                for (c, cell) in row.enumerated() {
                    guard let v = Double(cell.trimmingCharacters(in: .whitespaces)) else {
                        throw DataError(.badValue, path: table.path, line: table.lines[r], column: table.header[c],
                                        "'\(cell)' is not a number")
                    }
                    values.append(v)
                }
            }
            raw = Tensor(values, shape: [table.rows.count, table.header.count], dtype: dtype)
        }
        return try inputs(raw, source: table.path)
    }

    /// Standardises model inputs `[n, …]` with `inputScaler` (unchanged without one).
    ///
    /// - Throws: ``DataError`` (`.badHeader`) when an example's size is not the scaler's feature count.
    public func inputs(_ x: Tensor, source: String = "<inputs>") throws -> Tensor {
        guard let inputScaler else { return x }
        let n = x.shape.first ?? 0, d = n == 0 ? inputScaler.mean.count : x.count / Swift.max(n, 1)
        guard x.rank >= 1, d == inputScaler.mean.count else {
            throw DataError(.badHeader, path: source,
                            "examples have \(d) features (shape \(x.shape)) but the model was trained on \(inputScaler.mean.count); give the same feature columns as the training data")
        }
        return inputScaler.transform(x)
    }

    /// Model outputs `[n, k]` in the target's original units (`targetScaler`'s inverse; unchanged without one).
    public func outputs(_ y: Tensor) -> Tensor {
        guard let targetScaler, y.rank >= 1, (y.shape.first ?? 0) > 0,
              y.count / y.shape[0] == targetScaler.mean.count else { return y }
        return targetScaler.inverse(y)
    }
}

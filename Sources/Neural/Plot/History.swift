import Foundation

/// One epoch of a training run, as the history figure plots it. A trainer converts its own
/// records to these; ``parse(metricsJSON:)`` reads them from the CLI's `--metrics-json` output.
public struct HistoryPoint: Sendable, Equatable {
    /// The epoch number (1-based in the CLI's output).
    public var epoch: Int
    /// Mean training loss over the epoch.
    public var trainLoss: Double
    /// Loss on the held-out set (nil when there is none).
    public var testLoss: Double?
    /// Held-out accuracy for classifiers, as a fraction in [0, 1] or a percentage.
    public var testAccuracy: Double?
    /// Held-out root-mean-square error for regression, in the target's units.
    public var testRMSE: Double?
    /// Wall time of the epoch in seconds.
    public var seconds: Double?

    /// A history point.
    public init(epoch: Int, trainLoss: Double, testLoss: Double? = nil, testAccuracy: Double? = nil,
                testRMSE: Double? = nil, seconds: Double? = nil) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.testLoss = testLoss
        self.testAccuracy = testAccuracy; self.testRMSE = testRMSE; self.seconds = seconds
    }

    /// Reads the epochs of a `--metrics-json` document:
    /// `{"epochs": [{"epoch", "train_loss", "test_loss", "test_accuracy" or "test_rmse", "seconds"}…],
    /// "final": {…}}`. A missing `epoch` counts from 1; `null` (or a "NaN"/"inf" string) in
    /// `train_loss` reads as NaN, in the other fields as absent.
    ///
    /// - Throws: ``PlotError/invalidMetrics(_:)`` naming the problem when the document is not
    ///   JSON, has no `epochs` array, or an entry lacks a numeric `train_loss`.
    public static func parse(metricsJSON data: Data) throws -> [HistoryPoint] {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw PlotError.invalidMetrics("not valid JSON")
        }
        guard let object = root as? [String: Any] else { throw PlotError.invalidMetrics("the top level is not an object") }
        guard let epochs = object["epochs"] as? [Any] else { throw PlotError.invalidMetrics("no \"epochs\" array") }
        return try epochs.enumerated().map { i, entry in
            guard let e = entry as? [String: Any] else { throw PlotError.invalidMetrics("epochs[\(i)] is not an object") }
            func number(_ key: String) throws -> Double? {
                guard let v = e[key], !(v is NSNull) else { return nil }
                if let s = v as? String, let d = Double(s) { return d }
                if let n = v as? NSNumber { return n.doubleValue }
                if let d = v as? Double { return d }
                if let i = v as? Int { return Double(i) }
                throw PlotError.invalidMetrics("epochs[\(i)].\(key) is not a number")
            }
            guard e["train_loss"] != nil else { throw PlotError.invalidMetrics("epochs[\(i)] has no \"train_loss\"") }
            let epoch = try number("epoch")
            guard epoch.map({ $0.isFinite && $0 == $0.rounded() && abs($0) < 1e9 }) ?? true else {
                throw PlotError.invalidMetrics("epochs[\(i)].epoch is not an integer")
            }
            return HistoryPoint(epoch: epoch.map { Int($0) } ?? i + 1, trainLoss: try number("train_loss") ?? .nan,
                                testLoss: try number("test_loss"), testAccuracy: try number("test_accuracy"),
                                testRMSE: try number("test_rmse"), seconds: try number("seconds"))
        }
    }
}

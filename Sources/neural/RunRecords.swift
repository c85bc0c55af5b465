import Foundation
import Neural

/// The settings that decide a run's course, saved in every checkpoint (`neural.config`) and
/// compared on `--resume`: `{"data", "optimizer", "lr", "loss", "seed", "batch_size"}`.
struct RunConfig: Codable, Equatable {
    /// The dataset's name (`spirals`, `mnist`, or the CSV file's name).
    var data: String
    /// The optimizer's canonical registry name.
    var optimizer: String
    /// The base learning rate.
    var lr: Double
    /// The loss's canonical registry name.
    var loss: String
    /// The seed of initialisation, splits and shuffling.
    var seed: UInt64
    /// The global mini-batch size.
    var batchSize: Int
    /// `--no-decay-norms-and-biases` (two parameter groups, so another order of the optimizer
    /// state); nil when not given.
    var noDecayNormsAndBiases: Bool?
    /// `--augment` (random transforms of the training images); nil when not given.
    var augment: Bool? = nil

    enum CodingKeys: String, CodingKey {
        case data, optimizer, lr, loss, seed, augment
        case batchSize = "batch_size"
        case noDecayNormsAndBiases = "no_decay_norms_and_biases"
    }

    /// The configuration saved in `checkpoint` (`nil` when it has none), read from `--resume path`.
    ///
    /// - Throws: ``CLIError`` naming the file, the metadata entry and the field that does not decode.
    static func saved(in checkpoint: Checkpoint, path: String) throws -> RunConfig? {
        guard let text = checkpoint.config else { return nil }
        let problem: String
        do {
            return try JSONDecoder().decode(RunConfig.self, from: Data(text.utf8))
        } catch DecodingError.keyNotFound(let key, _) {
            problem = "has no field \"\(key.stringValue)\""
        } catch DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context) {
            problem = "field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" is not of type \(type)"
        } catch {
            problem = "is not a JSON object"
        }
        throw CLIError("--resume \(path): __metadata__ \"\(Checkpoint.MetadataKey.config)\" \(problem); resume from a checkpoint written by neural train")
    }
}

/// A number in the metrics JSON; NaN and ±∞ (a diverged run) are written as `null`.
struct MetricNumber: Encodable {
    /// The value.
    var value: Double

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if value.isFinite { try c.encode(value) } else { try c.encodeNil() }
    }
}

/// One epoch in `--metrics-json`: `{"epoch", "train_loss", "test_loss", "test_accuracy" |
/// "test_rmse", "test_mae", "seconds"}`; the final entry adds `samples_per_second` and `total_seconds`.
struct EpochMetrics: Encodable {
    var epoch: Int
    var trainLoss: MetricNumber
    var testLoss: MetricNumber?
    var testAccuracy: MetricNumber?
    var testRMSE: MetricNumber?
    var testMAE: MetricNumber?
    var seconds: MetricNumber
    var samplesPerSecond: MetricNumber?
    var totalSeconds: MetricNumber?

    enum CodingKeys: String, CodingKey {
        case epoch, seconds
        case trainLoss = "train_loss", testLoss = "test_loss", testAccuracy = "test_accuracy", testRMSE = "test_rmse"
        case testMAE = "test_mae", samplesPerSecond = "samples_per_second", totalSeconds = "total_seconds"
    }

    /// An epoch's entry: its number, training loss, evaluation metrics (absent without evaluation) and wall time.
    init(epoch: Int, trainLoss: Double, test: EvaluationMetrics?, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = MetricNumber(value: trainLoss)
        self.testLoss = test.map { MetricNumber(value: $0.loss) }
        self.testAccuracy = test?.accuracy.map(MetricNumber.init)
        self.testRMSE = test?.rmse.map(MetricNumber.init)
        self.testMAE = test?.mae.map(MetricNumber.init)
        self.seconds = MetricNumber(value: seconds)
    }
}

/// The `--metrics-json` document: `{"epochs": [EpochMetrics…], "final": EpochMetrics}`.
struct MetricsDocument: Encodable {
    var epochs: [EpochMetrics]
    var final: EpochMetrics

    /// The document of a run's `records`, its `final` evaluation and its throughput and duration.
    init(_ records: [EpochRecord], final: EvaluationMetrics, samplesPerSecond: Double, totalSeconds: Double) {
        epochs = records.map { EpochMetrics(epoch: $0.epoch, trainLoss: $0.trainLoss, test: $0.test, seconds: $0.seconds) }
        let last = records.last
        self.final = EpochMetrics(epoch: last?.epoch ?? 0, trainLoss: last?.trainLoss ?? .nan, test: final, seconds: last?.seconds ?? 0)
        self.final.samplesPerSecond = MetricNumber(value: samplesPerSecond)
        self.final.totalSeconds = MetricNumber(value: totalSeconds)
    }

    /// The document as JSON text, pretty-printed with sorted keys (the same run gives the same layout).
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

import ArgumentParser
import Foundation
import Neural

/// A dataset ready to train on: train/test splits (standardised where that helps), the input
/// shape per example, the output size and the default objective.
struct PreparedData {
    var name: String
    var train: TensorDataset
    var test: TensorDataset
    /// `--augment`: the per-example transform of the training inputs (nil: none).
    var trainTransform: (any Transform)?
    var inputScaler: Standardizer?
    var targetScaler: Standardizer?
    var inputShape: [Int] { train.inputShape }
    var outputSize: Int { train.classCount ?? train.targetValues!.shape.last ?? 1 }
    /// `--task autoencode`: the targets are the inputs (flattened), and the model keeps the input's
    /// shape instead of ending in an output layer.
    var isAutoencoder = false
    /// The output size the model spec is built for: nil (no output layer appended) for an autoencoder.
    var modelOutputSize: Int? { isAutoencoder ? nil : outputSize }
    var defaultObjective: Objective { train.isClassification ? .crossEntropy : .mse }
    /// Raw 2-D points and labels, kept for the decision-region plot (spirals only).
    var points: (Tensor, [Int])?
    /// The CSV feature encoding (CSV data only).
    var encoding: CSVEncoding?
    /// Class names of a text target (CSV data only).
    var classNames: [String]?
    /// What a checkpoint stores so that `predict` sees inputs the way training did.
    var preprocessing: Preprocessing {
        Preprocessing(encoding: encoding, inputScaler: inputScaler, targetScaler: targetScaler, classNames: classNames)
    }

    /// The same inputs with themselves as targets (`[n, …]` flattened to `[n, k]`, sharing storage):
    /// the data of an autoencoder, trained to reconstruct its input (MSE by default).
    func autoencoding() -> PreparedData {
        func selfTargets(_ d: TensorDataset) -> TensorDataset {
            TensorDataset(inputs: d.inputs, targets: d.inputs.reshaped([d.count, d.inputs.count / Swift.max(d.count, 1)]))
        }
        var data = PreparedData(name: name, train: selfTargets(train), test: selfTargets(test), inputScaler: inputScaler,
                                targetScaler: nil)
        data.encoding = encoding
        data.isAutoencoder = true
        return data
    }
}

/// The options that choose and split a dataset (shared by `train` and `evaluate`: the same seed
/// gives the same split and standardisation).
struct DataOptions: ParsableArguments {
    @Option(help: "spirals | house | mnist | housing | FILE.csv | shakespeare | FILE.txt")
    var data = "spirals"
    @Option(help: "Directory holding the dataset files (mnist: the four .gz files; housing: housing.csv).")
    var dataDir: String?
    @Option(help: "CSV target column (default: the last column; housing: median_house_value).")
    var target: String?
    @Option(name: .customLong("seed"), help: "Seed for initialisation, splits and shuffling (default 0; evaluate: the training seed stored in the checkpoint).")
    var seedOption: UInt64?

    /// The seed given with --seed, or 0.
    var seed: UInt64 { seedOption ?? 0 }

    func load(seed: UInt64? = nil) throws -> PreparedData {
        try DataChoice.load(data, dataDir: dataDir, target: target, seed: seed ?? self.seed)
    }
}

enum DataChoice {
    /// Where `--data mnist` looks when `--data-dir` is not given, in order.
    static let mnistSearchPath = ["$NEURAL_DATA/mnist", "data/mnist", "../shared/data/mnist", "../../shared/data/mnist"]

    static func defaultMNISTDirectory() -> String {
        let env = ProcessInfo.processInfo.environment["NEURAL_DATA"]
        for p in mnistSearchPath {
            let path = p.replacingOccurrences(of: "$NEURAL_DATA", with: env ?? "\u{0}")
            if !path.contains("\u{0}"), FileManager.default.fileExists(atPath: path) { return path }
        }
        return "data/mnist"
    }

    static func defaultHousingPath() -> String {
        let env = ProcessInfo.processInfo.environment["NEURAL_DATA"]
        for p in ["\(env ?? "\u{0}")/housing/housing.csv", "data/housing/housing.csv", "../shared/data/housing/housing.csv"]
        where !p.contains("\u{0}") && FileManager.default.fileExists(atPath: p) { return p }
        return "data/housing/housing.csv"
    }

    /// Loads `--data NAME` (spirals, house, mnist, housing or a CSV path).
    /// What `--augment` does to MNIST training images, in order (on pixels in [0, 1], so the fill 0
    /// is the background; the last step standardises as the test images are).
    static let mnistAugmentation = "random crop 28×28 after 2 pixels of zero padding, random rotation by ±10° and scaling by 0.9–1.1 (nearest pixel), then standardisation with MNIST's mean 0.1307 and std 0.3081"

    /// The transform ``mnistAugmentation`` describes.
    static func mnistTransform() -> any Transform {
        Compose([RandomCrop(28, padding: 2), RandomAffine(degrees: 10, scale: 0.9...1.1),
                 Normalize(mean: [MNIST.mean], std: [MNIST.std])])
    }

    static func load(_ name: String, dataDir: String?, target: String?, seed: UInt64, augment: Bool = false) throws -> PreparedData {
        if augment && name.lowercased() != "mnist" {
            throw CLIError("--augment works on image data (--data mnist), not on \(name); leave it out")
        }
        let g = RandomGenerator(seed: seed &+ 1)
        switch name.lowercased() {
        case "spirals":
            let (x, y) = Synthetic.twoSpirals(pointsPerClass: 500, noise: 0.05, generator: g)
            let all = TensorDataset(inputs: x, labels: y, classCount: 2)
            let s = DatasetSplits(all, fractions: [0.8, 0.2], generator: g, standardizeInputs: false)
            return PreparedData(name: "spirals", train: s.train, test: s.test, inputScaler: nil, targetScaler: nil, points: (x, y))
        case "house":
            let (x, price, _) = Synthetic.housePricesSection7_2(count: 2000, generator: g)
            let s = DatasetSplits(TensorDataset(inputs: x, targets: price), fractions: [0.8, 0.2], generator: g)
            return PreparedData(name: "house", train: s.train, test: s.test, inputScaler: s.inputScaler, targetScaler: s.targetScaler)
        case "mnist":
            let dir = dataDir ?? defaultMNISTDirectory()
            // With --augment the training images stay in [0, 1] (the transform standardises them last).
            let train = try MNIST.load(directory: dir, split: .train, normalize: !augment)
            let test = try MNIST.load(directory: dir, split: .test, normalize: true)
            return PreparedData(name: "mnist", train: train, test: test, trainTransform: augment ? mnistTransform() : nil,
                                inputScaler: nil, targetScaler: nil)
        default:
            let path: String
            var targetColumn = target
            if name.lowercased() == "housing" {
                path = dataDir.map { ($0 as NSString).appendingPathComponent("housing.csv") } ?? defaultHousingPath()
                targetColumn = targetColumn ?? "median_house_value"
            } else if name.lowercased().hasSuffix(".csv") {
                path = name
            } else {
                throw CLIError("unknown --data '\(name)'; use spirals, house, mnist, housing, shakespeare, a path to a .csv file or a .txt file")
            }
            // The file is read whole before parsing: refuse one larger than the memory available.
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int {
                try MemoryBudget.check(Double(size), for: "the data file \(path) (\(MemoryBudget.format(size)), read whole into memory)",
                                       hint: "use a smaller file or free memory")
            }
            let csv = try CSVDataset.load(path: path, target: targetColumn)
            let s = DatasetSplits(csv.dataset, fractions: [0.8, 0.2], generator: g, inputColumns: csv.encoding.numericMask)
            return PreparedData(name: (path as NSString).lastPathComponent, train: s.train, test: s.test,
                                inputScaler: s.inputScaler, targetScaler: s.targetScaler,
                                encoding: csv.encoding, classNames: csv.targetCategories)
        }
    }
}

import Foundation
import Neural
import Testing

/// `predict` and `evaluate` see data the way `train` did: the checkpoint carries the CSV encoding,
/// the standardizers and the training seed.
@Suite("Checkpoint preprocessing in the tool", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct PredictPreprocessingTests {
    /// price = 20·size + 300·rooms + (city: 0 / 5000 / 9000) + 100000, dollars.
    private static func price(size: Double, rooms: Double, city: String) -> Double {
        20 * size + 300 * rooms + ["north": 0.0, "south": 5000, "west": 9000][city]! + 100_000
    }

    private static func table(rows: Int, seed: UInt64, target: Bool) -> String {
        let g = RandomGenerator(seed: seed)
        var lines = [target ? "size,rooms,city,price" : "size,rooms,city"]
        for _ in 0..<rows {
            let size = 500 + Double(g.nextInt(below: 2500)), rooms = 1 + Double(g.nextInt(below: 6))
            let city = ["north", "south", "west"][g.nextInt(below: 3)]
            lines.append("\(Int(size)),\(Int(rooms)),\(city)" + (target ? ",\(price(size: size, rooms: rooms, city: city))" : ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func predictAppliesTrainingEncodingAndScalingAndReturnsTargetUnits() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try Self.table(rows: 600, seed: 1, target: true).write(to: dir.appendingPathComponent("houses.csv"), atomically: true, encoding: .utf8)
        let newRows = Self.table(rows: 50, seed: 2, target: false)
        try newRows.write(to: dir.appendingPathComponent("new.csv"), atomically: true, encoding: .utf8)
        let train = try NeuralTool.run(["train", "--data", "houses.csv", "--model", "linear(1)", "--epochs", "60", "--lr", "0.05",
                                        "--seed", "7", "--quiet", "--checkpoint", "c.safetensors"], in: dir)
        #expect(train.status == 0, "\(train.stderr)")

        let r = try NeuralTool.run(["predict", "--checkpoint", "c.safetensors", "--input", "new.csv", "--output", "y.npy"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let y = try NPY.read(dir.appendingPathComponent("y.npy")).scalars(as: Double.self)
        let table = try CSVTable(text: newRows)
        #expect(y.count == 50)
        var worst = 0.0
        for (row, p) in zip(table.rows, y) {
            let truth = Self.price(size: Double(row[0])!, rooms: Double(row[1])!, city: row[2])
            worst = max(worst, abs(p - truth))
        }
        // Standardised outputs would be off by ~$100,000; a linear model of a linear target is close in dollars.
        #expect(worst < 2_000, "largest error $\(worst)")
    }

    @Test func evaluateDefaultsToTheTrainingSeed() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try Self.table(rows: 400, seed: 3, target: true).write(to: dir.appendingPathComponent("houses.csv"), atomically: true, encoding: .utf8)
        let train = try NeuralTool.run(["train", "--data", "houses.csv", "--epochs", "5", "--seed", "11",
                                        "--quiet", "--checkpoint", "c.safetensors"], in: dir)
        #expect(train.status == 0, "\(train.stderr)")
        let rmse = try #require(train.stdout.range(of: "test RMSE [^,]+", options: .regularExpression).map { String(train.stdout[$0].dropFirst(10)) })
        let same = try NeuralTool.run(["evaluate", "--checkpoint", "c.safetensors", "--data", "houses.csv"], in: dir)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("RMSE \(rmse)"), "training said \(rmse); evaluate said \(same.stdout)")
        let other = try NeuralTool.run(["evaluate", "--checkpoint", "c.safetensors", "--data", "houses.csv", "--seed", "12"], in: dir)
        #expect(other.status == 0 && !other.stdout.contains("RMSE \(rmse)"), "an explicit --seed picks another split: \(other.stdout)")
    }

    @Test func predictRejectsInputsWithTheWrongFeatureCount() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try Self.table(rows: 200, seed: 4, target: true).write(to: dir.appendingPathComponent("houses.csv"), atomically: true, encoding: .utf8)
        #expect(try NeuralTool.run(["train", "--data", "houses.csv", "--epochs", "1", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        try NPY.write(Tensor.zeros([3, 4]), to: dir.appendingPathComponent("x.npy"))
        let r = try NeuralTool.run(["predict", "--checkpoint", "c.safetensors", "--input", "x.npy", "--output", "y.npy"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("neural: error: x.npy") && r.stderr.contains("trained on 5"), "\(r.stderr)")
    }
}

import Foundation
import Neural
import Testing

@Suite("Checkpoint preprocessing metadata")
struct CheckpointPreprocessingTests {
    @Test func preprocessingSurvivesAWriteAndRead() throws {
        let prep = Preprocessing(
            encoding: try JSONDecoder().decode(CSVEncoding.self, from: Data("""
                {"columns": [{"name": "size", "fill": 3.5}, {"name": "city", "categories": ["a", "b"], "fill": 0}]}
                """.utf8)),
            inputScaler: Standardizer(mean: [10, 0, 0], std: [2, 1, 1]),
            targetScaler: Standardizer(mean: [100], std: [5]), classNames: nil)
        var ck = Checkpoint(model: Linear(3, 1, generator: RandomGenerator(seed: 0)))
        ck.setPreprocessing(prep)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("prep-\(UUID().uuidString).safetensors")
        try ck.write(to: url)
        #expect(try Checkpoint.load(from: url).preprocessing() == prep)
    }

    @Test func inputsAreStandardisedAndOutputsRestored() throws {
        let prep = Preprocessing(inputScaler: Standardizer(mean: [1, 2], std: [2, 4]), targetScaler: Standardizer(mean: [100], std: [10]))
        let x = try prep.inputs(Tensor([3.0, 10, 1, 2], shape: [2, 2], dtype: .float64))
        #expect(x.scalars(as: Double.self) == [1, 2, 0, 0])
        #expect(prep.outputs(Tensor([0.5, -1], shape: [2, 1], dtype: .float64)).scalars(as: Double.self) == [105, 90])
        #expect(throws: DataError.self) { try prep.inputs(Tensor.zeros([2, 3])) }
    }

    @Test func aMalformedEntryIsATypedError() throws {
        var ck = Checkpoint(tensors: ["w": Tensor.zeros([1])])
        ck.metadata[Checkpoint.MetadataKey.preprocessing] = "{\"inputScaler\": {\"mean\": [0], \"std\": [0]}}"
        #expect(throws: CheckpointError.self) { try ck.preprocessing() }
        ck.metadata[Checkpoint.MetadataKey.preprocessing] = "not json"
        #expect(throws: CheckpointError.self) { try ck.preprocessing() }
    }
}

import Foundation
import Testing

/// The README's ```swift blocks, compiled from README.md itself into `neural-readme-example` (the
/// ReadmeExample plugin), run as a program: if the README's code stops compiling, the build fails;
/// if it stops learning or prints wrong gradients, this fails.
@Suite("The README's code", .enabled(if: ReadmeExample.executable != nil, "neural-readme-example is not built"))
struct ReadmeExampleTests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: ReadmeExample.root.appendingPathComponent("../shared/data/mnist").path),
                   "MNIST is not in ../shared/data"))
    func readmeProgramTrainsMNISTPrintsTheCubeGradientAndSearchesWithMiniLM() throws {
        let result = try NeuralTool.run(program: ReadmeExample.executable!, [], in: ReadmeExample.root)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)

        let epochs = lines.filter { $0.hasPrefix("epoch ") }
        #expect(epochs.count == 5, "\(result.stdout)")
        let last = try #require(epochs.last, "no epoch line in \(result.stdout)")
        let accuracy = try #require(last.split(separator: " ").last.flatMap { Double($0) }, "no accuracy in \(last)")
        #expect(accuracy > 0.95, "\(last)")

        let cube = try #require(lines.firstIndex(of: "cube'(x) = [3.0, 12.0, 0.75]"), "\(result.stdout)")
        #expect(lines.dropFirst(cube + 1).first == "true", "checkGradients did not pass: \(result.stdout)")

        // The semantic-search block (```swift needs=…): both cat sentences, when the model is fetched.
        let search = lines.filter { $0.hasPrefix("search: ") }
        if FileManager.default.fileExists(atPath: ReadmeExample.root.appendingPathComponent(".cache/models/all-MiniLM-L6-v2").path) {
            #expect(Set(search.map { $0.split(separator: " ", maxSplits: 2).last.map(String.init) ?? "" })
                    == ["The cat sleeps on the sofa.", "A kitten naps on the couch."], "\(result.stdout)")
        } else {
            #expect(search.isEmpty && lines.contains { $0.hasPrefix("skipped: the block at ") && $0.hasSuffix("needs .cache/models/all-MiniLM-L6-v2") },
                    "\(result.stdout)")
        }
    }
}

/// Where the README's program is built (beside `neural`) and the repository root it runs in, so
/// that its `../shared/data/mnist` is the one the README means.
enum ReadmeExample {
    static var executable: URL? {
        NeuralTool.executable.map { $0.deletingLastPathComponent().appendingPathComponent("neural-readme-example") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.path) ? $0 : nil }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
}

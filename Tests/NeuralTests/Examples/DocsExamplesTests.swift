import Foundation
import Testing

/// The DocC articles' ```swift blocks (Sources/Neural/Neural.docc/*.md), compiled from the articles
/// themselves into `neural-docs-examples` (the DocsExamples plugin) and run article by article: if an
/// article's code stops compiling, the build fails; if it stops doing what the article says it prints,
/// this fails.
@Suite("The documentation's code", .enabled(if: DocsExamples.executable != nil, "neural-docs-examples is not built"))
struct DocsExamplesTests {
    /// What each article's code prints (the lines it must print, in order). An article with Swift
    /// code needs an entry here: ``everyArticleWithSwiftCodeIsBuiltAndChecked()`` fails otherwise.
    static let expectedLines: [String: [String]] = [
        "Neural": ["true"],
        "GettingStarted": ["spirals test accuracy: true", "loss decreased: true"],
        "TheChapterInCode": ["[2, 3] [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]", "true", "true", "[4.0, 4.0, 4.0]"],
        "CustomOperations": ["cube'(x) = [3.0, 12.0, 0.75]", "[4.0, 5.0] true", "swish gradient check: true", "true false"],
        "TrainingFromTheCommandLine": ["[10] 43706", "model spec: unknown layer \"rleu\"; did you mean relu?"],
        "CheckpointsAndPyTorch": ["[\"0.bias\", \"0.weight\", \"2.bias\", \"2.weight\"]", "true"],
        "DataParallelTraining": ["ranks: 1 epochs: 2"],
        "BuildingTransformers": ["[2, 6, 16] 12", "true [2, 6]", "gpt loss decreased: true", "16", "true"],
        "PretrainedModels": ["folder: missing", "loaded: 37 missing: 0", "strict: stateMismatch true", "[2, 32] true"],
    ]

    @Test func everyArticleWithSwiftCodeIsBuiltAndChecked() throws {
        let result = try NeuralTool.run(program: DocsExamples.executable!, ["--list"], in: DocsExamples.root)
        #expect(result.status == 0, "\(result.stderr)")
        let built = result.stdout.split(separator: "\n").map(String.init)
        #expect(built == DocsExamples.articlesWithSwiftCode, "the program's articles differ from the catalog's")
        #expect(Set(built) == Set(Self.expectedLines.keys), "give every article with Swift code its expected lines here")
    }

    @Test(arguments: DocsExamples.articlesWithSwiftCode)
    func articleCodeRunsAndPrintsWhatTheArticleSays(article: String) throws {
        let result = try NeuralTool.run(program: DocsExamples.executable!, [article], in: DocsExamples.root)
        #expect(result.status == 0, "\(article): \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "== \(article)", "\(result.stdout)")
        var rest = lines.dropFirst()[...]
        for expected in Self.expectedLines[article] ?? [] {
            guard let index = rest.firstIndex(of: expected) else {
                Issue.record("\(article) did not print \"\(expected)\" (in order); it printed:\n\(result.stdout)")
                break
            }
            rest = rest[(index + 1)...]
        }
    }

    @Test func unknownArticleNameIsRefusedWithTheList() throws {
        let result = try NeuralTool.run(program: DocsExamples.executable!, ["NoSuchArticle"], in: DocsExamples.root)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no article named NoSuchArticle") && result.stderr.contains("GettingStarted"), "\(result.stderr)")
    }
}

/// Where the articles' program is built (beside `neural`), the repository root it runs in, and the
/// catalog's articles that have Swift code.
enum DocsExamples {
    static var executable: URL? {
        NeuralTool.executable.map { $0.deletingLastPathComponent().appendingPathComponent("neural-docs-examples") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.path) ? $0 : nil }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The names (without `.md`) of the articles in Sources/Neural/Neural.docc with a ```swift block, sorted.
    static let articlesWithSwiftCode: [String] = {
        let catalog = root.appendingPathComponent("Sources/Neural/Neural.docc")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: catalog.path)) ?? []
        return files.filter { $0.hasSuffix(".md") }.sorted().filter { name in
            let text = (try? String(contentsOf: catalog.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").contains { $0.drop { $0 == " " }.hasPrefix("```swift") }
        }.map { String($0.dropLast(3)) }
    }()
}

import Foundation
import PackagePlugin

/// Generates `articleExamples()` (ArticleSwiftBlocks.swift) for the target it is applied to, from the
/// ```swift blocks of the DocC articles in Sources/Neural/Neural.docc, so that the documentation's code
/// is compiled (and, by a test, run) as written. A new article is picked up by the next build.
@main struct DocsExamples: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let catalog = context.package.directoryURL.appending(path: "Sources/Neural/Neural.docc")
        let articles = try FileManager.default.contentsOfDirectory(at: catalog, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "md" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let program = context.pluginWorkDirectoryURL.appending(path: "ArticleSwiftBlocks.swift")
        return [.buildCommand(
            displayName: "Extracting the Swift blocks of the DocC articles",
            executable: try context.tool(named: "extract-swift-blocks").url,
            arguments: ["--articles", program.path(percentEncoded: false)] + articles.map { $0.path(percentEncoded: false) },
            inputFiles: articles,
            outputFiles: [program])]
    }
}

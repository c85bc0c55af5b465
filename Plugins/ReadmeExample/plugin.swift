import Foundation
import PackagePlugin

/// Generates `readmeSwiftBlocks()` (ReadmeSwiftBlocks.swift) for the target it is applied to, from the ```swift blocks of the
/// package's README.md, so that the README's code is compiled (and, by a test, run) as written.
@main struct ReadmeExample: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let readme = context.package.directoryURL.appending(path: "README.md")
        let program = context.pluginWorkDirectoryURL.appending(path: "ReadmeSwiftBlocks.swift")
        return [.buildCommand(
            displayName: "Extracting the Swift blocks of README.md",
            executable: try context.tool(named: "extract-swift-blocks").url,
            arguments: [readme.path(percentEncoded: false), program.path(percentEncoded: false)],
            inputFiles: [readme],
            outputFiles: [program])]
    }
}

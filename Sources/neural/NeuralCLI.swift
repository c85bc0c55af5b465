import ArgumentParser
import Neural

/// The `neural` command-line tool.
@main
struct NeuralCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural",
        abstract: "Train and run neural networks from the command line.",
        version: Neural.version)
}

import Foundation

// The ```swift blocks of the DocC articles (Sources/Neural/Neural.docc/*.md), one function per
// article, generated at build time by the DocsExamples plugin (Plugins/DocsExamples), so this program
// is the articles' code. `neural-docs-examples` runs every article in order; `neural-docs-examples
// NAME…` runs the named ones (the file names without `.md`); `--list` prints the names.
// Each article's output follows a line `== NAME`. Run it from the repository root.

let examples = articleExamples()
let requested = Array(CommandLine.arguments.dropFirst())
if requested == ["--list"] {
    for example in examples { print(example.name) }
    exit(0)
}
for name in requested where !examples.contains(where: { $0.name == name }) {
    FileHandle.standardError.write(Data(
        "neural-docs-examples: no article named \(name); articles with Swift code: \(examples.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
for example in examples where requested.isEmpty || requested.contains(example.name) {
    print("== \(example.name)")
    try example.run()
}

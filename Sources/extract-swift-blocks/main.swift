import Foundation

// Writes the ```swift blocks of a Markdown file as one throwing Swift function, `readmeSwiftBlocks()`:
//     extract-swift-blocks README.md ReadmeSwiftBlocks.swift
// The blocks' `import` lines go to the top of the file; every block becomes a `do { … }` scope of
// its own, in order, so blocks may reuse names; `#sourceLocation` maps each line back to the Markdown
// file, so the compiler's errors and warnings name the README's lines.

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: extract-swift-blocks INPUT.md OUTPUT.swift\n".utf8))
    exit(2)
}
let input = arguments[1], output = arguments[2]
let markdown: String
do {
    markdown = try String(contentsOfFile: input, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("extract-swift-blocks: cannot read \(input): \(error)\n".utf8))
    exit(1)
}

/// One fenced block: the 1-based line number of its first code line, and its lines.
struct Block { var firstLine: Int; var lines: [Substring] }

var blocks: [Block] = []
var current: Block?
for (index, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    let trimmed = line.drop { $0 == " " }
    if current != nil {
        if trimmed.hasPrefix("```") {
            blocks.append(current!)
            current = nil
        } else {
            current!.lines.append(line)
        }
    } else if trimmed.hasPrefix("```swift") {
        current = Block(firstLine: index + 2, lines: [])
    }
}
if let open = current {
    FileHandle.standardError.write(Data("\(input):\(open.firstLine - 1): error: unterminated ```swift block\n".utf8))
    exit(1)
}
if blocks.isEmpty {
    FileHandle.standardError.write(Data("\(input):1: error: no ```swift blocks\n".utf8))
    exit(1)
}

let file = input.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
var imports: [String] = []
var body = ""
for block in blocks {
    body += "do {\n#sourceLocation(file: \"\(file)\", line: \(block.firstLine))\n"
    for line in block.lines {
        if line.hasPrefix("import ") {
            if !imports.contains(String(line)) { imports.append(String(line)) }
            body += "\n"
        } else {
            body += line + "\n"
        }
    }
    body += "#sourceLocation()\n}\n"
}
let program = "// Generated from \(input) by extract-swift-blocks.\n" + imports.joined(separator: "\n")
    + "\n\n/// Runs the ```swift blocks of \(input), in order.\nfunc readmeSwiftBlocks() throws {\n" + body + "}\n"
do {
    try program.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("extract-swift-blocks: cannot write \(output): \(error)\n".utf8))
    exit(1)
}

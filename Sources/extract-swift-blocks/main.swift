import Foundation

// Writes the ```swift blocks of Markdown files as Swift functions, so that documentation's code is
// compiled (and, by a test, run) as written:
//     extract-swift-blocks README.md ReadmeSwiftBlocks.swift
//         one throwing function, `readmeSwiftBlocks()`, from one file (an error if it has no blocks);
//     extract-swift-blocks --articles ArticleSwiftBlocks.swift A.md B.md …
//         one throwing function per file that has blocks (`article_A()`, …) and
//         `articleExamples()`, the list of (article name, function) in the order given.
// The blocks' `import` lines go to the top of the file; every block becomes a `do { … }` scope of
// its own, in order, so blocks may reuse names; `#sourceLocation` maps each line back to the Markdown
// file, so the compiler's errors and warnings name the Markdown's lines. A block opened with
// ```swift needs=PATH (Markdown renderers show it as any Swift block) runs only when PATH exists
// (relative to the directory the program runs in); otherwise it prints
// "skipped: the block at FILE:LINE needs PATH" and the program goes on, so an example that needs a
// fetched model still compiles everywhere.

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

/// One fenced block: the 1-based line number of its first code line, its lines, and the path it
/// needs (`needs=PATH` after ```swift), if any.
struct Block { var firstLine: Int; var lines: [Substring]; var needs: String? = nil }

/// The ```swift blocks of the Markdown file at `path`.
func swiftBlocks(of path: String) -> [Block] {
    let markdown: String
    do {
        markdown = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        fail("extract-swift-blocks: cannot read \(path): \(error)")
    }
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
            let options = trimmed.dropFirst("```swift".count).split(separator: " ")
            let needs = options.first { $0.hasPrefix("needs=") }.map { String($0.dropFirst("needs=".count)) }
            if let needs, needs.isEmpty || needs.contains("\"") || needs.contains("\\") {
                fail("\(path):\(index + 1): error: needs= takes a path without quotes or backslashes")
            }
            current = Block(firstLine: index + 2, lines: [], needs: needs)
        }
    }
    if let open = current {
        fail("\(path):\(open.firstLine - 1): error: unterminated ```swift block")
    }
    return blocks
}

/// The body of one function running `blocks` of `path` in order; their imports are added to `imports`.
func functionBody(_ blocks: [Block], of path: String, imports: inout [String]) -> String {
    let file = path.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    var body = ""
    for block in blocks {
        if let needs = block.needs {
            if !imports.contains("import Foundation") { imports.append("import Foundation") }
            body += "if !FileManager.default.fileExists(atPath: \"\(needs)\") {\n"
                + "    print(\"skipped: the block at \(file):\(block.firstLine - 1) needs \(needs)\")\n} else {\n"
        }
        body += "do {\n#sourceLocation(file: \"\(file)\", line: \(block.firstLine))\n"
        for line in block.lines {
            if line.hasPrefix("import ") {
                if !imports.contains(String(line)) { imports.append(String(line)) }
                body += "\n"
            } else {
                body += line + "\n"
            }
        }
        body += "#sourceLocation()\n}\n" + (block.needs == nil ? "" : "}\n")
    }
    return body
}

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = "usage: extract-swift-blocks INPUT.md OUTPUT.swift\n       extract-swift-blocks --articles OUTPUT.swift INPUT.md…"
var imports: [String] = []
var functions = ""
let output: String
if arguments.first == "--articles" {
    guard arguments.count >= 3 else { fail(usage, status: 2) }
    output = arguments[1]
    var names: [String] = []
    for input in arguments.dropFirst(2) {
        let blocks = swiftBlocks(of: input)
        if blocks.isEmpty { continue }
        let name = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            fail("\(input):1: error: an article with Swift blocks needs a file name of letters, digits and _")
        }
        names.append(name)
        functions += "\n/// Runs the ```swift blocks of \(input), in order.\nfunc article_\(name)() throws {\n"
            + functionBody(blocks, of: input, imports: &imports) + "}\n"
    }
    if names.isEmpty { fail("extract-swift-blocks: no ```swift blocks in \(arguments.dropFirst(2).joined(separator: " "))") }
    functions += "\n/// Each article with ```swift blocks: its name (the file name) and the function running its blocks.\n"
        + "func articleExamples() -> [(name: String, run: () throws -> Void)] {\n    [\n"
        + names.map { "        (\"\($0)\", article_\($0)),\n" }.joined() + "    ]\n}\n"
} else {
    guard arguments.count == 2 else { fail(usage, status: 2) }
    let input = arguments[0]
    output = arguments[1]
    let blocks = swiftBlocks(of: input)
    if blocks.isEmpty { fail("\(input):1: error: no ```swift blocks") }
    functions = "\n/// Runs the ```swift blocks of \(input), in order.\nfunc readmeSwiftBlocks() throws {\n"
        + functionBody(blocks, of: input, imports: &imports) + "}\n"
}
let program = "// Generated by extract-swift-blocks.\n" + imports.joined(separator: "\n") + "\n" + functions
do {
    try program.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    fail("extract-swift-blocks: cannot write \(output): \(error)")
}

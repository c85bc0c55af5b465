import Foundation
import Neural
import Testing

// Helpers for the data tests: the shared datasets' location and throwaway directories.

/// `../shared/data` next to the repository (found from this file's path), or nil when absent.
func sharedDataDirectory(_ sub: String) -> String? {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }        // Data, NeuralTests, Tests, repository root
    let dir = url.deletingLastPathComponent().appendingPathComponent("shared/data/\(sub)").path
    return FileManager.default.fileExists(atPath: dir) ? dir : nil
}

/// A fresh empty directory under the system's temporary directory.
func makeTemporaryDirectory() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-data-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes `bytes` to `directory/name`.
func writeFile(_ bytes: [UInt8], _ directory: String, _ name: String) {
    _ = FileManager.default.createFile(atPath: (directory as NSString).appendingPathComponent(name), contents: Data(bytes))
}

/// Expects `body` to throw a ``DataError`` whose message contains every string of `fragments`;
/// returns it.
@discardableResult
func expectDataError(_ fragments: [String], kind: DataError.Kind? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        Issue.record("expected a DataError containing \(fragments)", sourceLocation: sourceLocation)
    } catch let error as DataError {
        for f in fragments {
            #expect(error.description.contains(f), "'\(error)' should mention '\(f)'", sourceLocation: sourceLocation)
        }
        if let kind { #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation) }
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

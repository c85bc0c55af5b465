import Foundation

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// Runs libFuzzer with the process's arguments, calling `body` on every input; exits with its
/// status. SwiftPM renames each executable's `main`, so the fuzzers keep Swift's entry point and
/// hand control to libFuzzer's driver instead of linking libFuzzer's `main`.
public func runFuzzer(_ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, body))
}

/// The input as `Data` (libFuzzer passes a null pointer for an empty input).
public func fuzzData(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Data {
    guard let bytes, count > 0 else { return Data() }
    return Data(bytes: bytes, count: count)
}

/// Checks that a parser's error names the file it was given; anything else is a finding.
public func expectNamesFile(_ error: any Error, _ file: String) {
    let text = String(describing: error)
    if !text.contains(file) {
        fatalError("error does not name the file \(file): \(text)")
    }
}

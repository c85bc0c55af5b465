// swift-tools-version: 6.1
// Coverage-guided fuzzers (libFuzzer) for Neural's file parsers: IDX (raw and gzip), CSV, .npy,
// safetensors (+ checkpoints). Not part of the main build or CI; build and run them with
// Scripts/fuzz.sh, which passes -sanitize=fuzzer,address.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder: the repository's checkout folder.
let neural = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "NeuralFuzzing",
    dependencies: [.package(path: "..")],
    targets: [
        // LLVMFuzzerRunDriver's declaration (libFuzzer's driver, linked by -sanitize=fuzzer).
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzIDX", dependencies: ["FuzzDriver", .product(name: "Neural", package: neural)]),
        .executableTarget(name: "FuzzIDXGzip", dependencies: ["FuzzDriver", .product(name: "Neural", package: neural)]),
        .executableTarget(name: "FuzzCSV", dependencies: ["FuzzDriver", .product(name: "Neural", package: neural)]),
        .executableTarget(name: "FuzzNPY", dependencies: ["FuzzDriver", .product(name: "Neural", package: neural)]),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzDriver", .product(name: "Neural", package: neural)]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Neural",
    products: [
        .library(name: "Neural", targets: ["Neural"]),
        .executable(name: "neural", targets: ["neural"]),
        .executable(name: "neural-bench", targets: ["neural-bench"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Data-parallel training across processes and machines with Open MPI (needs libopenmpi-dev; run with mpirun)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target Neural` (the DocC catalog Sources/Neural/Neural.docc).
        // A command plugin that no target uses: SwiftPM neither builds it in `swift build` nor resolves
        // it for packages that depend on Neural.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The C kernels, each with an AVX-512 body chosen at run time by CPU feature and a portable
        // body that builds everywhere (the GEMM tiles, narrow GEMM and transcendentals also have an
        // AVX2+FMA body): GEMM register tiles, narrow GEMM and Float32 panel packing; elementwise
        // transcendentals (exp, log, tanh, sigmoid, GELU, softplus); layer-normalization rows; the
        // layers' loops (bias + activation epilogues, convolution gather/scatter, 2×2 max pooling,
        // SGD update); and the persistent worker pool behind every parallel loop.
        .target(name: "CNeuralKernels"),
        // The system zlib, for reading gzip-compressed datasets (MNIST's .gz files).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Open MPI, for data-parallel training; compiled and linked only with the `MPI` trait.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Neural", dependencies: [
            "CNeuralKernels", "CZlib",
            .target(name: "CMPI", condition: .when(traits: ["MPI"])),
        ]),
        .executableTarget(
            name: "neural",
            dependencies: ["Neural", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "neural-bench",
            dependencies: ["Neural", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // README.md's ```swift blocks as one program: the ReadmeExample plugin extracts them at build
        // time (extract-swift-blocks), so editing the README's code without fixing it breaks the
        // build (its warnings too), and ReadmeExampleTests runs the program and checks what it prints.
        .executableTarget(name: "extract-swift-blocks"),
        .plugin(name: "ReadmeExample", capability: .buildTool(), dependencies: ["extract-swift-blocks"]),
        .executableTarget(
            name: "neural-readme-example", dependencies: ["Neural"],
            swiftSettings: [.unsafeFlags(["-warnings-as-errors"])], plugins: ["ReadmeExample"]),
        // The DocC articles' ```swift blocks (Sources/Neural/Neural.docc/*.md), one function per article,
        // extracted at build time by the DocsExamples plugin the same way; DocsExamplesTests runs them.
        .plugin(name: "DocsExamples", capability: .buildTool(), dependencies: ["extract-swift-blocks"]),
        .executableTarget(
            name: "neural-docs-examples", dependencies: ["Neural"],
            swiftSettings: [.unsafeFlags(["-warnings-as-errors"])], plugins: ["DocsExamples"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "CNeuralKernels"], exclude: ["Fixtures", "HostileFiles"]),
    ],
    swiftLanguageModes: [.v6]
)

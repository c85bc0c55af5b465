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
    ],
    targets: [
        // SIMD micro-kernels only (GEMM tiles), compiled per function for AVX-512 / AVX2+FMA
        // and chosen at run time by CPU feature; a portable fallback builds everywhere.
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
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "CNeuralKernels"], exclude: ["Fixtures", "HostileFiles"]),
    ],
    swiftLanguageModes: [.v6]
)

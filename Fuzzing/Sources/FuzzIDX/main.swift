import FuzzDriver
import Foundation
import Neural

// Raw (uncompressed) IDX files: every input is parsed both as an images and as a labels file.
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    do { _ = try MNIST.decodeImages(data, file: "fuzz-images-idx3-ubyte") } catch { expectNamesFile(error, "fuzz-images-idx3-ubyte") }
    do { _ = try MNIST.decodeLabels(data, file: "fuzz-labels-idx1-ubyte") } catch { expectNamesFile(error, "fuzz-labels-idx1-ubyte") }
    return 0
}

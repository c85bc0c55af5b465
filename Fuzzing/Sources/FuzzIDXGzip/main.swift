import FuzzDriver
import Foundation
import Neural

// Gzip-compressed IDX files. The first byte picks the mode: odd, the rest is taken as a gzip
// stream as it is (exercising zlib's checks and the size bounds on hostile streams); even, the
// rest is an IDX file that is compressed first (so the IDX checks behind a valid stream are
// reached too), with byte & 0x7e choosing the level, and bit 6 appending garbage after it.
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    guard let mode = data.first else { return 0 }
    var gz: Data
    if mode & 1 == 1 {
        gz = data.dropFirst()
    } else {
        gz = Data(Gzip.compress([UInt8](data.dropFirst()), level: Int(mode >> 1) % 10))
        if mode & 0x40 != 0 { gz.append(contentsOf: [0x1f, 0x8b, 0, 0]) }
    }
    do { _ = try MNIST.decodeImages(gz, file: "fuzz-images-idx3-ubyte.gz") } catch { expectNamesFile(error, "fuzz-images-idx3-ubyte.gz") }
    do { _ = try MNIST.decodeLabels(gz, file: "fuzz-labels-idx1-ubyte.gz") } catch { expectNamesFile(error, "fuzz-labels-idx1-ubyte.gz") }
    return 0
}

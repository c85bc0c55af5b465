import Foundation
import Neural
import Testing

/// Builds IDX files in memory.
private func idx(magic: Int, dims: [Int], payload: [UInt8]) -> [UInt8] {
    func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
    return be(magic) + dims.flatMap(be) + payload
}

/// A directory with a valid little MNIST: 3 training and 2 test images.
private func tinyMNIST() -> String {
    let dir = makeTemporaryDirectory()
    for (split, n) in [(MNIST.Split.train, 3), (.test, 2)] {
        let pixels = (0..<(n * 784)).map { UInt8($0 % 256) }
        writeFile(Gzip.compress(idx(magic: 2051, dims: [n, 28, 28], payload: pixels)), dir, split.imagesFile)
        writeFile(Gzip.compress(idx(magic: 2049, dims: [n], payload: (0..<n).map { UInt8($0 + 3) })), dir, split.labelsFile)
    }
    return dir
}

struct MNISTTests {
    @Test(.enabled(if: sharedDataDirectory("mnist") != nil, "../shared/data/mnist not found: MNIST files test skipped"))
    func loadsTheRealFiles() throws {
        let dir = sharedDataDirectory("mnist")!
        let train = try MNIST.load(directory: dir, split: .train)
        #expect(train.count == 60000)
        #expect(train.inputs.shape == [60000, 1, 28, 28])
        #expect(train.inputs.dtype == .float32)
        #expect(train.classCount == 10)
        #expect(Array(train.labels!.prefix(5)) == [5, 0, 4, 1, 9])
        let pixels = train.inputs.scalars(as: Float.self)
        #expect(pixels.min() == 0 && pixels.max() == 1)
        let mean = pixels.reduce(0.0) { $0 + Double($1) } / Double(pixels.count)
        #expect(abs(mean - MNIST.mean) < 1e-3, "mean pixel \(mean)")
        var counts = [Int](repeating: 0, count: 10)
        for l in train.labels! { counts[l] += 1 }
        #expect(counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])

        let test = try MNIST.load(directory: dir, split: .test, normalize: true)
        #expect(test.inputs.shape == [10000, 1, 28, 28])
        #expect(Array(test.labels!.prefix(5)) == [7, 2, 1, 0, 4])
        let z = test.inputs.scalars(as: Float.self)
        #expect(abs(Double(z.min()!) + MNIST.mean / MNIST.std) < 1e-5)
        #expect(abs(Double(z.max()!) - (1 - MNIST.mean) / MNIST.std) < 1e-5)
    }

    @Test func loadsATinyValidCopy() throws {
        let dir = tinyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try MNIST.load(directory: dir, split: .train, dtype: .float64)
        #expect(train.inputs.shape == [3, 1, 28, 28])
        #expect(train.labels == [3, 4, 5])
        #expect(train.inputs.item(at: [0, 0, 0, 1]) == 1.0 / 255)
        #expect(train.inputs.item(at: [1, 0, 0, 0]) == Double(784 % 256) / 255)
        // An uncompressed twin is used when the .gz file is absent.
        let raw = try Gzip.decompress(Data(contentsOf: URL(fileURLWithPath: dir + "/" + MNIST.Split.test.labelsFile)), file: "x")
        try FileManager.default.removeItem(atPath: dir + "/" + MNIST.Split.test.labelsFile)
        writeFile(raw, dir, "t10k-labels-idx1-ubyte")
        #expect(try MNIST.load(directory: dir, split: .test).labels == [3, 4])
    }

    @Test func missingDirectorySaysWhereFilesGo() {
        expectDataError(["/nonexistent/mnist", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "yann.lecun.com"],
                        kind: .missingDirectory) {
            _ = try MNIST.load(directory: "/nonexistent/mnist", split: .train)
        }
    }

    @Test func missingFileIsNamed() throws {
        let dir = tinyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/train-labels-idx1-ubyte.gz")
        expectDataError(["train-labels-idx1-ubyte.gz", "not found"], kind: .missingFile) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
    }

    @Test func truncatedAndCorruptGzipAreReported() throws {
        let dir = tinyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + MNIST.Split.train.imagesFile
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        writeFile(Array(good.prefix(good.count / 2)), dir, MNIST.Split.train.imagesFile)
        expectDataError(["train-images-idx3-ubyte.gz", "truncated"], kind: .truncated) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
        var bad = good
        for i in 20..<40 { bad[i] = ~bad[i] }
        writeFile(bad, dir, MNIST.Split.train.imagesFile)
        expectDataError(["train-images-idx3-ubyte.gz", "corrupt"], kind: .corruptCompression) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
    }

    @Test func wrongMagicIsReported() {
        let dir = tinyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A labels file where the images belong.
        writeFile(Gzip.compress(idx(magic: 2049, dims: [3], payload: [1, 2, 3])), dir, MNIST.Split.train.imagesFile)
        expectDataError(["train-images-idx3-ubyte.gz: bad magic 2049 at offset 0, expected 2051", "labels file"], kind: .badMagic) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
        writeFile(Gzip.compress(idx(magic: 2051, dims: [2, 28, 28], payload: [UInt8](repeating: 0, count: 2 * 784))),
                  dir, MNIST.Split.test.labelsFile)
        expectDataError(["t10k-labels-idx1-ubyte.gz: bad magic 2051", "expected 2049"], kind: .badMagic) {
            _ = try MNIST.load(directory: dir, split: .test)
        }
    }

    @Test func sizeMismatchesAreReported() {
        let dir = tinyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Image and label counts disagree.
        writeFile(Gzip.compress(idx(magic: 2049, dims: [2], payload: [1, 2])), dir, MNIST.Split.train.labelsFile)
        expectDataError(["train-labels-idx1-ubyte.gz", "2 labels", "3 images"], kind: .badHeader) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
        // The header announces more images than the bytes hold.
        writeFile(Gzip.compress(idx(magic: 2051, dims: [5, 28, 28], payload: [UInt8](repeating: 0, count: 3 * 784))),
                  dir, MNIST.Split.train.imagesFile)
        expectDataError(["train-images-idx3-ubyte.gz", "announces 5 images"], kind: .truncated) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
        // Not 28×28.
        writeFile(Gzip.compress(idx(magic: 2051, dims: [3, 32, 32], payload: [UInt8](repeating: 0, count: 3 * 1024))),
                  dir, MNIST.Split.train.imagesFile)
        expectDataError(["train-images-idx3-ubyte.gz", "32×32", "expected 28×28"], kind: .badHeader) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
        // A header cut short, and a label that is not a digit.
        writeFile(Gzip.compress([0, 0, 8, 3, 0]), dir, MNIST.Split.test.imagesFile)
        expectDataError(["t10k-images-idx3-ubyte.gz", "too short"], kind: .truncated) {
            _ = try MNIST.load(directory: dir, split: .test)
        }
        writeFile(Gzip.compress(idx(magic: 2051, dims: [3, 28, 28], payload: [UInt8](repeating: 0, count: 3 * 784))),
                  dir, MNIST.Split.train.imagesFile)
        writeFile(Gzip.compress(idx(magic: 2049, dims: [3], payload: [1, 12, 3])), dir, MNIST.Split.train.labelsFile)
        expectDataError(["train-labels-idx1-ubyte.gz", "label 12 at offset 9"], kind: .badValue) {
            _ = try MNIST.load(directory: dir, split: .train)
        }
    }
}

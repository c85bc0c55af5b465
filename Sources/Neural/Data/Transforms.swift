import Foundation

/// A per-example transform of a ``Dataset``'s inputs (torchvision.transforms v1), applied by a
/// ``DataLoader`` on its threads before the examples are stacked into a batch.
///
/// Images are `[C, H, W]` (a `[H, W]` image is taken as one channel and keeps its rank).
/// Randomness comes only from `random`, which the loader derives from (seed, epoch, example
/// index): the same seed gives the same augmented batches at any thread count and with or
/// without prefetching.
///
/// ```swift
/// let augment = Compose([RandomCrop(28, padding: 2), RandomAffine(degrees: 10, translate: (0.1, 0.1)),
///                        Normalize(mean: [0.1307], std: [0.3081])])
/// let loader = DataLoader(train, batchSize: 128, transform: augment, transformSeed: 7)
/// ```
public protocol Transform: Sendable {
    /// The transformed input (a new tensor; `input` is not changed).
    func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor
}

/// The random numbers of one example's transforms: SplitMix64 seeded from (seed, epoch, index),
/// so every example's draws are fixed by those three numbers alone. The numbers differ from
/// torch's global generator (which a PyTorch pipeline draws from in worker order); their
/// distributions are the same.
public struct TransformRandom: Sendable {
    private var state: UInt64

    /// The draws for example `index` in epoch `epoch` of a loader with seed `seed`.
    public init(seed: UInt64, epoch: Int, index: Int) {
        var s = seed
        state = 0
        state = Self.mix(&s) ^ UInt64(truncatingIfNeeded: epoch) &* 0xD6E8_FEB8_6659_FD93
        state = Self.mix(&state) ^ UInt64(truncatingIfNeeded: index) &* 0xA076_1D64_78BD_642F
        _ = Self.mix(&state)
    }

    private static func mix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 { Self.mix(&state) }

    /// Uniform in [0, 1) (53 random bits).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [`low`, `high`).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * uniform() }

    /// Uniform in `0..<bound` (like `torch.randint(0, bound)`).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "Neural: int(below:) needs a positive bound, got \(bound)")
        return Int(next() % UInt64(bound))   // bias below 2⁻⁵⁰ for image sizes
    }
}

/// Transforms applied in order (torchvision's `Compose`).
public struct Compose: Transform {
    /// The transforms, first applied first.
    public let transforms: [any Transform]

    /// `transforms` applied in order.
    public init(_ transforms: [any Transform]) { self.transforms = transforms }

    /// Applies each transform to the previous one's output.
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        transforms.reduce(input) { x, t in t(x, random: &random) }
    }
}

/// Per-channel standardisation (torchvision's `Normalize`): `(x[c] − mean[c]) / std[c]` on a
/// `[C, H, W]` image (or any `[C, …]` input); one mean and std apply to every channel.
public struct Normalize: Transform {
    /// The channel means (C values, or one for all channels).
    public let mean: [Double]
    /// The channel standard deviations (positive).
    public let std: [Double]

    /// Standardisation with the given channel means and standard deviations.
    public init(mean: [Double], std: [Double]) {
        precondition(!mean.isEmpty && mean.count == std.count, "Neural: Normalize needs as many means as stds, got \(mean.count) and \(std.count)")
        precondition(std.allSatisfy { $0 > 0 }, "Neural: Normalize needs positive stds, got \(std)")
        self.mean = mean
        self.std = std
    }

    /// The standardised input, same shape.
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        let c = input.rank >= 3 ? input.shape[0] : 1
        precondition(mean.count == 1 || mean.count == c,
                     "Neural: Normalize has \(mean.count) channel means but the input \(input.shape) has \(c) channels")
        var x = input.scalars(as: Double.self)
        let plane = x.count / Swift.max(c, 1)
        for ch in 0..<c {
            let m = mean[mean.count == 1 ? 0 : ch], s = std[std.count == 1 ? 0 : ch]
            for k in (ch * plane)..<((ch + 1) * plane) { x[k] = (x[k] - m) / s }
        }
        return Tensor(x, shape: input.shape, dtype: input.dtype)
    }
}

/// A random `size`×`size` (or `height`×`width`) window of the image after zero padding
/// (torchvision's `RandomCrop(size, padding, fill=0)`): the window's top-left corner is uniform
/// over every position where it fits in the padded image.
public struct RandomCrop: Transform {
    /// The output height and width.
    public let height: Int, width: Int
    /// Zero padding added on each side (left, top, right, bottom) before cropping.
    public let padding: (left: Int, top: Int, right: Int, bottom: Int)

    /// A square crop of side `size` after `padding` zeros on every side.
    public init(_ size: Int, padding: Int = 0) {
        self.init(height: size, width: size, padding: (padding, padding, padding, padding))
    }

    /// A `height`×`width` crop after padding (left, top, right, bottom).
    public init(height: Int, width: Int, padding: (left: Int, top: Int, right: Int, bottom: Int)) {
        precondition(height > 0 && width > 0, "Neural: RandomCrop needs a positive size, got \(height)×\(width)")
        precondition(padding.left >= 0 && padding.top >= 0 && padding.right >= 0 && padding.bottom >= 0,
                     "Neural: RandomCrop padding must be non-negative")
        self.height = height
        self.width = width
        self.padding = padding
    }

    /// The crop at a random position (top row first, as torchvision draws them).
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        let g = ImageGeometry(input)
        let ph = g.height + padding.top + padding.bottom, pw = g.width + padding.left + padding.right
        precondition(ph >= height && pw >= width,
                     "Neural: RandomCrop \(height)×\(width) is larger than the padded image \(ph)×\(pw) (input \(input.shape))")
        let top = random.int(below: ph - height + 1), left = random.int(below: pw - width + 1)
        return Image.crop(input, top: top - padding.top, left: left - padding.left, height: height, width: width)
    }
}

/// Mirrors the image left–right with probability `p` (torchvision's `RandomHorizontalFlip`).
public struct RandomHorizontalFlip: Transform {
    /// The probability of a flip.
    public let p: Double

    /// Flips with probability `p` (default 0.5).
    public init(p: Double = 0.5) {
        precondition((0...1).contains(p), "Neural: RandomHorizontalFlip needs p in [0, 1], got \(p)")
        self.p = p
    }

    /// The image, flipped when a uniform draw is below `p`.
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        random.uniform() < p ? Image.horizontalFlip(input) : input
    }
}

/// The shape of an image input: `[C, H, W]`, or `[H, W]` as one channel.
struct ImageGeometry {
    let channels: Int, height: Int, width: Int

    init(_ image: Tensor) {
        precondition(image.rank == 2 || image.rank == 3, "Neural: image transforms need a [C, H, W] or [H, W] input, got \(image.shape)")
        channels = image.rank == 3 ? image.shape[0] : 1
        height = image.shape[image.rank - 2]
        width = image.shape[image.rank - 1]
    }

    /// The shape of an image with these channels (and rank) and another height and width.
    func shape(_ rank: Int, height h: Int, width w: Int) -> [Int] { rank == 3 ? [channels, h, w] : [h, w] }
}

/// The deterministic image operations behind the random transforms (torchvision.transforms.functional).
public enum Image {
    /// The `height`×`width` window whose top-left pixel is (`top`, `left`) of a `[C, H, W]` image;
    /// positions outside the image read 0 (torchvision's `F.crop`, which pads with zeros).
    public static func crop(_ image: Tensor, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let g = ImageGeometry(image)
        let x = image.scalars(as: Double.self)
        var out = [Double](repeating: 0, count: g.channels * height * width)
        for c in 0..<g.channels {
            for i in 0..<height where (0..<g.height).contains(top + i) {
                for j in 0..<width where (0..<g.width).contains(left + j) {
                    out[(c * height + i) * width + j] = x[(c * g.height + top + i) * g.width + left + j]
                }
            }
        }
        return Tensor(out, shape: g.shape(image.rank, height: height, width: width), dtype: image.dtype)
    }

    /// The image mirrored left–right (torchvision's `F.hflip`).
    public static func horizontalFlip(_ image: Tensor) -> Tensor {
        let g = ImageGeometry(image)
        let x = image.scalars(as: Double.self)
        var out = x
        for row in 0..<(g.channels * g.height) {
            for j in 0..<g.width { out[row * g.width + j] = x[row * g.width + g.width - 1 - j] }
        }
        return Tensor(out, shape: image.shape, dtype: image.dtype)
    }
}

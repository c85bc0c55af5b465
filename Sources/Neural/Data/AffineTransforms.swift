import Foundation

/// How a geometric transform reads the input between pixels (torchvision's `InterpolationMode`).
public enum Interpolation: String, Sendable {
    /// The nearest pixel (ties to even, as `grid_sample`); torchvision's default.
    case nearest
    /// Bilinear between the four neighbours.
    case bilinear
}

/// A random rotation, translation and scaling about the image centre, filling with 0
/// (torchvision's `RandomAffine(degrees, translate, scale)`, no shear).
///
/// Each example draws an angle uniform in [−degrees, degrees], whole-pixel shifts
/// `round(U(−tx·W, tx·W))` and `round(U(−ty·H, ty·H))` (ties to even, as Python's `round`), and a
/// scale uniform in `scale`, in that order, and applies ``Image/affine(_:angle:translate:scale:interpolation:)``.
public struct RandomAffine: Transform {
    /// The angle range in degrees.
    public let degrees: ClosedRange<Double>
    /// The largest shift as fractions of the width and height (nil: none).
    public let translate: (x: Double, y: Double)?
    /// The scale range (nil: 1).
    public let scale: ClosedRange<Double>?
    /// Nearest (default) or bilinear.
    public let interpolation: Interpolation

    /// Angles in [−`degrees`, `degrees`], shifts up to `translate` of the width and height, scales in `scale`.
    public init(degrees: Double, translate: (x: Double, y: Double)? = nil, scale: ClosedRange<Double>? = nil,
                interpolation: Interpolation = .nearest) {
        precondition(degrees >= 0, "Neural: RandomAffine degrees must be non-negative, got \(degrees)")
        self.init(degrees: -degrees...degrees, translate: translate, scale: scale, interpolation: interpolation)
    }

    /// Angles in `degrees`, shifts up to `translate` of the width and height, scales in `scale`.
    public init(degrees: ClosedRange<Double>, translate: (x: Double, y: Double)? = nil, scale: ClosedRange<Double>? = nil,
                interpolation: Interpolation = .nearest) {
        if let t = translate {
            precondition((0...1).contains(t.x) && (0...1).contains(t.y), "Neural: RandomAffine translate must lie in [0, 1], got \(t)")
        }
        if let s = scale { precondition(s.lowerBound > 0, "Neural: RandomAffine scale must be positive, got \(s)") }
        self.degrees = degrees
        self.translate = translate
        self.scale = scale
        self.interpolation = interpolation
    }

    /// The image moved by a random angle, shift and scale.
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        let g = ImageGeometry(input)
        let angle = random.uniform(degrees.lowerBound, degrees.upperBound)
        var shift = (x: 0.0, y: 0.0)
        if let t = translate {
            let dx = t.x * Double(g.width), dy = t.y * Double(g.height)
            shift = (random.uniform(-dx, dx).rounded(.toNearestOrEven), random.uniform(-dy, dy).rounded(.toNearestOrEven))
        }
        let s = scale.map { random.uniform($0.lowerBound, $0.upperBound) } ?? 1
        return Image.affine(input, angle: angle, translate: shift, scale: s, interpolation: interpolation)
    }
}

/// A random rotation about the image centre by an angle uniform in [−degrees, degrees], filling
/// with 0 (torchvision's `RandomRotation(degrees)`, without `expand`).
public struct RandomRotation: Transform {
    /// The angle range in degrees.
    public let degrees: ClosedRange<Double>
    /// Nearest (default) or bilinear.
    public let interpolation: Interpolation

    /// Angles uniform in [−`degrees`, `degrees`].
    public init(degrees: Double, interpolation: Interpolation = .nearest) {
        precondition(degrees >= 0, "Neural: RandomRotation degrees must be non-negative, got \(degrees)")
        self.degrees = -degrees...degrees
        self.interpolation = interpolation
    }

    /// The image rotated by a random angle.
    public func callAsFunction(_ input: Tensor, random: inout TransformRandom) -> Tensor {
        Image.rotate(input, angle: random.uniform(degrees.lowerBound, degrees.upperBound), interpolation: interpolation)
    }
}

extension Image {
    /// The image rotated counter-clockwise by `angle` degrees about its centre, same size, filled
    /// with 0 (torchvision's `F.rotate(img, angle)`).
    public static func rotate(_ image: Tensor, angle: Double, interpolation: Interpolation = .nearest) -> Tensor {
        affine(image, angle: -angle, translate: (0, 0), scale: 1, interpolation: interpolation)
    }

    /// The image rotated by `angle` degrees (clockwise in pixel coordinates, as torchvision's
    /// `F.affine`), scaled by `scale` about the centre and shifted by `translate` pixels (x right,
    /// y down), same size, filled with 0 (torchvision's `F.affine` on a tensor, no shear).
    ///
    /// Each output pixel reads the input at the inverse transform of its centre, as
    /// `grid_sample(align_corners=False)`. With bilinear interpolation the result is also
    /// multiplied by the interpolated coverage of the image (1 inside, falling to 0 across the
    /// border pixel), as torchvision does when it fills with 0.
    public static func affine(_ image: Tensor, angle: Double, translate: (x: Double, y: Double), scale: Double,
                              interpolation: Interpolation = .nearest) -> Tensor {
        precondition(scale > 0, "Neural: affine needs a positive scale, got \(scale)")
        let g = ImageGeometry(image)
        let (h, w) = (g.height, g.width)
        // torchvision's _get_inverse_affine_matrix (centre 0, no shear): M⁻¹ = R(−a)/s, then −M⁻¹·t.
        let r = angle * Double.pi / 180
        let m0 = cos(r) / scale, m1 = sin(r) / scale, m3 = -sin(r) / scale, m4 = cos(r) / scale
        let m2 = -(m0 * translate.x + m1 * translate.y), m5 = -(m3 * translate.x + m4 * translate.y)
        let x = image.scalars(as: Double.self)
        var out = [Double](repeating: 0, count: x.count)
        let plane = h * w
        for i in 0..<h {
            let yo = Double(i) - Double(h) / 2 + 0.5
            for j in 0..<w {
                let xo = Double(j) - Double(w) / 2 + 0.5
                // The source pixel coordinates (grid_sample, align_corners=False).
                let sx = m0 * xo + m1 * yo + m2 + Double(w - 1) / 2
                let sy = m3 * xo + m4 * yo + m5 + Double(h - 1) / 2
                switch interpolation {
                case .nearest:
                    let px = Int(sx.rounded(.toNearestOrEven)), py = Int(sy.rounded(.toNearestOrEven))
                    guard px >= 0 && px < w && py >= 0 && py < h else { continue }
                    for c in 0..<g.channels { out[c * plane + i * w + j] = x[c * plane + py * w + px] }
                case .bilinear:
                    let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                    let fx = sx - Double(x0), fy = sy - Double(y0)
                    // The four neighbours' offsets in a plane and weights (0 outside the image).
                    var taps = (0, 0.0, 0, 0.0, 0, 0.0, 0, 0.0)
                    func tap(_ dy: Int, _ dx: Int) -> (Int, Double) {
                        let px = x0 + dx, py = y0 + dy
                        guard px >= 0 && px < w && py >= 0 && py < h else { return (0, 0) }
                        return (py * w + px, (dy == 0 ? 1 - fy : fy) * (dx == 0 ? 1 - fx : fx))
                    }
                    (taps.0, taps.1) = tap(0, 0)
                    (taps.2, taps.3) = tap(0, 1)
                    (taps.4, taps.5) = tap(1, 0)
                    (taps.6, taps.7) = tap(1, 1)
                    let coverage = taps.1 + taps.3 + taps.5 + taps.7
                    for c in 0..<g.channels {
                        let p = c * plane
                        let v = taps.1 * x[p + taps.0] + taps.3 * x[p + taps.2] + taps.5 * x[p + taps.4] + taps.7 * x[p + taps.6]
                        out[p + i * w + j] = v * coverage
                    }
                }
            }
        }
        return Tensor(out, shape: image.shape, dtype: image.dtype)
    }
}

import Foundation

/// A grid of grayscale images as a standalone SVG (no embedded bitmaps): rows of equally sized
/// images, each row with an optional label on its left, under an optional title. Pixels are
/// squares, runs of equal grey in a row merge into one rectangle, and the darkest grey is the
/// images' background (MNIST's white digits on black).
public struct ImageGrid: Sendable {
    /// The rows, each a list of images `[height · width]` row-major.
    package var rows: [[[Double]]]
    /// Each row's label (empty: none).
    package var rowLabels: [String]
    /// The title above the grid.
    package var title: String?
    /// Image height and width in pixels of the source.
    package var imageHeight: Int, imageWidth: Int
    /// The values shown as black and white.
    package var range: ClosedRange<Double>
    /// SVG units per source pixel.
    package var scale: Double

    /// A grid of `rows` of images (each `[H, W]` or `[1, H, W]`, all the same size), grey levels
    /// spread linearly over `range` (default: the smallest to the largest value in the grid).
    public init(rows: [[Tensor]], rowLabels: [String] = [], title: String? = nil, range: ClosedRange<Double>? = nil,
                scale: Double = 3) {
        precondition(!rows.isEmpty && rows.allSatisfy { !$0.isEmpty }, "Neural: an image grid needs at least one image per row")
        let shape = Array(rows[0][0].shape.suffix(2))
        precondition(shape.count == 2 && rows.allSatisfy { $0.allSatisfy { Array($0.shape.suffix(2)) == shape && $0.count == shape[0] * shape[1] } },
                     "Neural: the images of a grid must all be [H, W] or [1, H, W] of one size; the first is \(rows[0][0].shape)")
        self.rows = rows.map { $0.map { $0.scalars(as: Double.self) } }
        self.rowLabels = rowLabels
        self.title = title
        imageHeight = shape[0]
        imageWidth = shape[1]
        let values = self.rows.joined().joined().filter(\.isFinite)
        let lo = range?.lowerBound ?? values.min() ?? 0, hi = range?.upperBound ?? values.max() ?? 1
        self.range = lo...(hi > lo ? hi : lo + 1)
        self.scale = scale
    }

    /// Layout constants: gap between images, the label column's width, the title's height.
    private var gap: Double { 4 }
    private var labelWidth: Double { rowLabels.isEmpty ? 0 : 120 }
    private var titleHeight: Double { title == nil ? 0 : 30 }
    private var columns: Int { rows.map(\.count).max() ?? 0 }
    private var cellWidth: Double { Double(imageWidth) * scale }
    private var cellHeight: Double { Double(imageHeight) * scale }

    /// The whole figure's width in SVG units.
    package var width: Double { labelWidth + Double(columns) * (cellWidth + gap) + gap }
    /// The whole figure's height in SVG units.
    package var height: Double { titleHeight + Double(rows.count) * (cellHeight + gap) + gap }

    /// The grey level 0…255 of `v`.
    private func level(_ v: Double) -> Int {
        guard v.isFinite else { return 0 }
        let t = (v - range.lowerBound) / (range.upperBound - range.lowerBound)
        return Int((Swift.min(Swift.max(t, 0), 1) * 255).rounded())
    }

    /// The complete SVG document.
    public func svg() -> String {
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out += #"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\#(f(width))" height="\#(f(height))" viewBox="0 0 \#(f(width)) \#(f(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" shape-rendering="crispEdges">"# + "\n"
        out += ##"<rect x="0" y="0" width="\##(f(width))" height="\##(f(height))" fill="#ffffff"/>"## + "\n"
        if let title {
            out += ##"<text x="\##(f(width / 2))" y="20" text-anchor="middle" font-size="15" font-weight="bold" fill="#333333">\##(SVGPlot.escape(title))</text>"## + "\n"
        }
        for (r, images) in rows.enumerated() {
            let top = titleHeight + gap + Double(r) * (cellHeight + gap)
            if r < rowLabels.count {
                out += ##"<text x="\##(f(labelWidth - 8))" y="\##(f(top + cellHeight / 2 + 5))" text-anchor="end" font-size="13" fill="#333333">\##(SVGPlot.escape(rowLabels[r]))</text>"## + "\n"
            }
            for (c, pixels) in images.enumerated() {
                let left = labelWidth + gap + Double(c) * (cellWidth + gap)
                out += ##"<g transform="translate(\##(f(left)),\##(f(top))) scale(\##(f(scale)))"><rect width="\##(imageWidth)" height="\##(imageHeight)" fill="#000000"/>"##
                for y in 0..<imageHeight {
                    var x = 0
                    while x < imageWidth {
                        let g = level(pixels[y * imageWidth + x])
                        var end = x + 1
                        while end < imageWidth && level(pixels[y * imageWidth + end]) == g { end += 1 }
                        if g > 0 {
                            let hex = String(format: "#%02x%02x%02x", g, g, g)
                            out += ##"<rect x="\##(x)" y="\##(y)" width="\##(end - x)" height="1" fill="\##(hex)"/>"##
                        }
                        x = end
                    }
                }
                out += "</g>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    /// Writes ``svg()`` to `url` atomically (as ``SVGPlot/write(to:)`` does).
    public func write(to url: URL) throws {
        try SVGPlot.writeAtomically(svg(), to: url)
    }

    /// `v` with at most two decimals.
    private func f(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v) }
}

extension Figures {
    /// An autoencoder's reconstructions: the first `count` examples of `inputs` (`[n, 1, H, W]` or
    /// `[n, H, W]`) in the top row and `model`'s outputs for them (any shape with H·W values per
    /// example) below, run in evaluation mode without recording gradients, on one grey scale (the
    /// originals' range).
    public static func reconstructions(model: any Layer, inputs: Tensor, count: Int = 10,
                                       title: String = "Autoencoder reconstructions") -> ImageGrid {
        let n = Swift.min(count, inputs.shape[0])
        precondition(n > 0 && inputs.rank >= 3, "Neural: reconstructions need images [n, (1,) H, W], got \(inputs.shape)")
        let (h, w) = (inputs.shape[inputs.rank - 2], inputs.shape[inputs.rank - 1])
        let batch = inputs.slice(axis: 0, 0..<n).contiguous()
        let wasTraining = model.isTraining
        _ = model.eval()
        let outputs = withNoGrad { model(batch) }
        _ = model.train(wasTraining)
        precondition(outputs.count == n * h * w,
                     "Neural: reconstructions need \(h)×\(w) outputs per example; the model gives \(outputs.shape) for \(batch.shape)")
        let originals = batch.reshaped([n, h, w]), rebuilt = outputs.reshaped([n, h, w])
        let values = originals.scalars(as: Double.self)
        let range = (values.min() ?? 0)...(values.max() ?? 1)
        return ImageGrid(rows: [(0..<n).map { originals.slice(axis: 0, $0..<($0 + 1)).reshaped([h, w]) },
                                (0..<n).map { rebuilt.slice(axis: 0, $0..<($0 + 1)).reshaped([h, w]) }],
                         rowLabels: ["input", "reconstruction"], title: title, range: range)
    }
}

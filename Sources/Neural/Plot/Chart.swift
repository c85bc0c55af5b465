import Foundation

/// An sRGB colour for plots.
public struct PlotColor: Sendable, Equatable, Hashable {
    /// Red, 0–255.
    package var red: UInt8
    /// Green, 0–255.
    package var green: UInt8
    /// Blue, 0–255.
    package var blue: UInt8

    /// A colour from its 0–255 components.
    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red; self.green = green; self.blue = blue
    }

    /// A colour from a 24-bit value such as `0x1f77b4`.
    public init(hex: UInt32) {
        self.init(red: UInt8((hex >> 16) & 0xff), green: UInt8((hex >> 8) & 0xff), blue: UInt8(hex & 0xff))
    }

    /// `#rrggbb`, as SVG writes it.
    package var svg: String { String(format: "#%02x%02x%02x", red, green, blue) }

    /// This colour mixed with white: `amount` 0 gives the colour, 1 gives white.
    package func tinted(_ amount: Double) -> PlotColor {
        let a = min(1, max(0, amount))
        func mix(_ c: UInt8) -> UInt8 { UInt8((Double(c) + (255 - Double(c)) * a).rounded()) }
        return PlotColor(red: mix(red), green: mix(green), blue: mix(blue))
    }

    /// White.
    package static let white = PlotColor(hex: 0xffffff)
    /// Black.
    package static let black = PlotColor(hex: 0x000000)
    /// The dark grey used for axes and text.
    package static let ink = PlotColor(hex: 0x333333)

    /// Ten distinct colours that read well on white (the Tableau 10 palette, as matplotlib's
    /// default cycle): blue, orange, green, red, purple, brown, pink, grey, olive, cyan.
    package static let palette: [PlotColor] = [
        0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
    ].map { PlotColor(hex: $0) }

    /// The palette colour for index `i` (cycling).
    package static func palette(_ i: Int) -> PlotColor {
        palette[((i % palette.count) + palette.count) % palette.count]
    }
}

/// The stroke pattern of a line.
public enum LineDash: Sendable, Equatable {
    /// A continuous line.
    case solid
    /// Long dashes.
    case dashed
    /// Dots.
    case dotted

    var dashArray: String? {
        switch self {
        case .solid: return nil
        case .dashed: return "7 4"
        case .dotted: return "1.5 3.5"
        }
    }
}

/// A polyline through (x, y) points. Non-finite points (and, on a log axis, non-positive ones)
/// break the line into separate pieces instead of being drawn.
package struct LineSeries: Sendable {
    /// The legend entry (none when nil).
    package var label: String?
    /// x coordinates.
    package var x: [Double]
    /// y coordinates (same count as `x`).
    package var y: [Double]
    /// The stroke colour.
    package var color: PlotColor
    /// Stroke width in pixels.
    package var width: Double
    /// The stroke pattern.
    package var dash: LineDash
    /// Whether to mark each point with a dot (useful for a few epochs).
    package var markers: Bool

    /// A line series; `x` and `y` must have the same count.
    package init(x: [Double], y: [Double], label: String? = nil, color: PlotColor, width: Double = 2,
                dash: LineDash = .solid, markers: Bool = false) {
        precondition(x.count == y.count, "Neural: a line series needs as many x as y values (\(x.count) vs \(y.count))")
        self.x = x; self.y = y; self.label = label; self.color = color; self.width = width
        self.dash = dash; self.markers = markers
    }
}

/// Points drawn as dots, in one colour or coloured by class.
package struct ScatterSeries: Sendable {
    /// The legend entry when the points share one colour (ignored when `classes` is set).
    package var label: String?
    /// x coordinates.
    package var x: [Double]
    /// y coordinates (same count as `x`).
    package var y: [Double]
    /// The colour of every point when `classes` is nil.
    package var color: PlotColor
    /// A class per point; point i gets `PlotColor.palette(classes[i])`.
    package var classes: [Int]?
    /// Legend entries per class (class c is `classNames[c]`); defaults to "class c".
    package var classNames: [String]?
    /// Dot radius in pixels.
    package var radius: Double
    /// Fill opacity, 0–1.
    package var opacity: Double

    /// A scatter series; `x`, `y` (and `classes` when given) must have the same count.
    package init(x: [Double], y: [Double], label: String? = nil, color: PlotColor, classes: [Int]? = nil,
                classNames: [String]? = nil, radius: Double = 3, opacity: Double = 0.85) {
        precondition(x.count == y.count, "Neural: a scatter series needs as many x as y values (\(x.count) vs \(y.count))")
        precondition(classes == nil || classes!.count == x.count,
                     "Neural: a scatter series needs one class per point (\(classes?.count ?? 0) for \(x.count))")
        self.x = x; self.y = y; self.label = label; self.color = color; self.classes = classes
        self.classNames = classNames; self.radius = radius; self.opacity = opacity
    }
}

/// A rectangle of data space split into `columns × rows` coloured cells (decision regions,
/// heat maps). `colors` is row-major with row 0 at the *bottom* (smallest y).
package struct HeatMap: Sendable {
    /// The x extent of the grid.
    package var x: ClosedRange<Double>
    /// The y extent of the grid.
    package var y: ClosedRange<Double>
    /// Cells along x.
    package var columns: Int
    /// Cells along y.
    package var rows: Int
    /// `rows · columns` colours, row 0 (lowest y) first.
    package var colors: [PlotColor]
    /// Opacity of the cells, 0–1.
    package var opacity: Double

    /// A grid of cells; `colors.count` must equal `columns · rows`.
    package init(x: ClosedRange<Double>, y: ClosedRange<Double>, columns: Int, rows: Int, colors: [PlotColor],
                opacity: Double = 1) {
        precondition(columns > 0 && rows > 0 && colors.count == columns * rows,
                     "Neural: a heat map of \(columns)×\(rows) cells needs \(columns * rows) colours, got \(colors.count)")
        self.x = x; self.y = y; self.columns = columns; self.rows = rows; self.colors = colors; self.opacity = opacity
    }
}

/// Where a chart's legend goes.
public enum LegendPosition: Sendable, Equatable {
    /// The inside corner that covers the fewest data points.
    case auto
    /// Inside, top left.
    case topLeft
    /// Inside, top right.
    case topRight
    /// Inside, bottom left.
    case bottomLeft
    /// Inside, bottom right.
    case bottomRight
    /// No legend.
    case hidden
}

/// One panel: axes with nice ticks, labels, a title, a legend and the series drawn in it.
/// Put one or more side by side in an ``SVGPlot`` to get an SVG document.
///
/// ```swift
/// var chart = Chart(title: "Loss", xLabel: "epoch", yLabel: "loss", yScale: .log)
/// chart.addLine(x: [1, 2, 3], y: [0.9, 0.4, 0.2], label: "train")
/// try SVGPlot(chart).write(to: URL(fileURLWithPath: "loss.svg"))
/// ```
public struct Chart: Sendable {
    /// The panel title (none when nil).
    package var title: String?
    /// The x-axis label.
    package var xLabel: String?
    /// The y-axis label.
    package var yLabel: String?
    /// The x-axis scale.
    package var xScale: AxisScale
    /// The y-axis scale.
    package var yScale: AxisScale
    /// Fixed x limits (otherwise from the data, padded).
    package var xLimits: ClosedRange<Double>?
    /// Fixed y limits (otherwise from the data, padded).
    package var yLimits: ClosedRange<Double>?
    /// The fraction of the data range added on each side when limits come from the data.
    package var padding: Double
    /// Whether to draw light grid lines at the ticks.
    package var grid: Bool
    /// Whether to draw thin lines at x = 0 and y = 0 when they are inside the range.
    package var zeroLines: Bool
    /// Where the legend goes.
    package var legend: LegendPosition
    /// Whether x ticks fall only on whole numbers (epochs, counts).
    package var integerXTicks = false
    /// Line series, drawn in order.
    package var lines: [LineSeries] = []
    /// Scatter series, drawn in order above the lines.
    package var scatters: [ScatterSeries] = []
    /// Heat maps, drawn in order below everything else.
    package var heatMaps: [HeatMap] = []

    /// An empty panel.
    public init(title: String? = nil, xLabel: String? = nil, yLabel: String? = nil, xScale: AxisScale = .linear,
                yScale: AxisScale = .linear, xLimits: ClosedRange<Double>? = nil, yLimits: ClosedRange<Double>? = nil,
                padding: Double = 0.04, grid: Bool = true, zeroLines: Bool = false, legend: LegendPosition = .auto) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.xScale = xScale; self.yScale = yScale
        self.xLimits = xLimits; self.yLimits = yLimits; self.padding = padding; self.grid = grid
        self.zeroLines = zeroLines; self.legend = legend
    }

    /// The next palette colour: one per series added so far without an explicit colour.
    private var nextColor: PlotColor { PlotColor.palette(lines.count + scatters.filter { $0.classes == nil }.count) }

    /// Adds a line through (x[i], y[i]); the colour defaults to the next palette entry.
    public mutating func addLine(x: [Double], y: [Double], label: String? = nil, color: PlotColor? = nil,
                                 width: Double = 2, dash: LineDash = .solid, markers: Bool = false) {
        lines.append(LineSeries(x: x, y: y, label: label, color: color ?? nextColor, width: width, dash: dash, markers: markers))
    }

    /// Adds dots at (x[i], y[i]); with `classes`, point i is coloured `PlotColor.palette(classes[i])`
    /// and the legend lists each class (named by `classNames`, else "class c").
    public mutating func addScatter(x: [Double], y: [Double], label: String? = nil, color: PlotColor? = nil,
                                    classes: [Int]? = nil, classNames: [String]? = nil, radius: Double = 3,
                                    opacity: Double = 0.85) {
        scatters.append(ScatterSeries(x: x, y: y, label: label, color: color ?? nextColor, classes: classes,
                                      classNames: classNames, radius: radius, opacity: opacity))
    }

    /// Adds a grid of coloured cells (see `HeatMap`).
    public mutating func addHeatMap(x: ClosedRange<Double>, y: ClosedRange<Double>, columns: Int, rows: Int,
                                    colors: [PlotColor], opacity: Double = 1) {
        heatMaps.append(HeatMap(x: x, y: y, columns: columns, rows: rows, colors: colors, opacity: opacity))
    }

    /// A standalone SVG document of this panel alone.
    public func svg(width: Double = 560, height: Double = 400) -> String {
        SVGPlot(self, panelWidth: width, panelHeight: height).svg()
    }
}

/// Where a panel's plotting area lies in the SVG and which data ranges its axes show: maps data
/// coordinates to SVG pixels and back.
package struct PlotFrame: Sendable, Equatable {
    /// Left edge of the plotting area, in SVG pixels.
    package var left: Double
    /// Top edge of the plotting area, in SVG pixels.
    package var top: Double
    /// Width of the plotting area in pixels.
    package var width: Double
    /// Height of the plotting area in pixels.
    package var height: Double
    /// The x values at the left and right edges.
    package var xRange: ClosedRange<Double>
    /// The y values at the bottom and top edges.
    package var yRange: ClosedRange<Double>
    /// The x-axis scale.
    package var xScale: AxisScale
    /// The y-axis scale.
    package var yScale: AxisScale

    /// A frame from its pixel rectangle and data ranges.
    package init(left: Double, top: Double, width: Double, height: Double, xRange: ClosedRange<Double>,
                yRange: ClosedRange<Double>, xScale: AxisScale = .linear, yScale: AxisScale = .linear) {
        self.left = left; self.top = top; self.width = width; self.height = height
        self.xRange = xRange; self.yRange = yRange; self.xScale = xScale; self.yScale = yScale
    }

    private static func forward(_ v: Double, _ scale: AxisScale) -> Double {
        scale == .log ? (v > 0 ? Foundation.log10(v) : .nan) : v
    }

    private static func inverse(_ t: Double, _ scale: AxisScale) -> Double {
        scale == .log ? Foundation.pow(10, t) : t
    }

    /// The fraction (0 at the low edge, 1 at the high edge) of `v` along an axis; NaN when `v`
    /// cannot be shown (non-finite, or ≤ 0 on a log axis).
    static func fraction(_ v: Double, _ range: ClosedRange<Double>, _ scale: AxisScale) -> Double {
        let t = forward(v, scale), a = forward(range.lowerBound, scale), b = forward(range.upperBound, scale)
        guard t.isFinite, b > a else { return .nan }
        return (t - a) / (b - a)
    }

    /// The SVG pixel position of data point (x, y); NaN coordinates where it cannot be shown.
    package func pixel(x: Double, y: Double) -> (x: Double, y: Double) {
        (left + width * PlotFrame.fraction(x, xRange, xScale),
         top + height * (1 - PlotFrame.fraction(y, yRange, yScale)))
    }

    /// The data point at SVG pixel (px, py), the inverse of ``pixel(x:y:)``.
    package func dataPoint(px: Double, py: Double) -> (x: Double, y: Double) {
        func along(_ f: Double, _ r: ClosedRange<Double>, _ s: AxisScale) -> Double {
            let a = PlotFrame.forward(r.lowerBound, s), b = PlotFrame.forward(r.upperBound, s)
            return PlotFrame.inverse(a + f * (b - a), s)
        }
        return (along((px - left) / width, xRange, xScale), along(1 - (py - top) / height, yRange, yScale))
    }
}

extension Chart {
    /// The x and y ranges the axes show: the limits when set, else the finite data (and heat-map
    /// extents) padded by `padding`; a constant series gets a range around its value, an empty
    /// chart [0, 1] (or [1, 10] on a log axis).
    func dataRanges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        var xs: [Double] = [], ys: [Double] = []
        for l in lines { xs += l.x; ys += l.y }
        for s in scatters { xs += s.x; ys += s.y }
        for h in heatMaps { xs += [h.x.lowerBound, h.x.upperBound]; ys += [h.y.lowerBound, h.y.upperBound] }
        return (xLimits.flatMap(Chart.valid) ?? Chart.range(of: xs, scale: xScale, padding: padding),
                yLimits.flatMap(Chart.valid) ?? Chart.range(of: ys, scale: yScale, padding: padding))
    }

    private static func valid(_ r: ClosedRange<Double>) -> ClosedRange<Double>? {
        r.lowerBound.isFinite && r.upperBound.isFinite && r.upperBound > r.lowerBound ? r : nil
    }

    static func range(of values: [Double], scale: AxisScale, padding: Double) -> ClosedRange<Double> {
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard let lo = usable.min(), let hi = usable.max() else { return scale == .log ? 1...10 : 0...1 }
        if scale == .log {
            let a = Foundation.log10(lo), b = Foundation.log10(hi)
            if b - a < 1e-12 { return lo / 2...lo * 2 }
            let pad = (b - a) * padding
            return Foundation.pow(10, a - pad)...Foundation.pow(10, b + pad)
        }
        if hi - lo <= Swift.max(Swift.abs(hi), Swift.abs(lo)) * 1e-12 {
            let d = lo == 0 ? 1 : Swift.abs(lo) * 0.1
            return lo - d...hi + d
        }
        let pad = (hi - lo) * padding
        return lo - pad...hi + pad
    }
}

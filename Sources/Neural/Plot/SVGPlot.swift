import Foundation

/// Errors from writing plots and reading training metrics.
public enum PlotError: Error, CustomStringConvertible, Equatable {
    /// The SVG could not be written to `path`.
    case writeFailed(path: String, reason: String)
    /// A metrics document is not in the `--metrics-json` format.
    case invalidMetrics(String)

    /// One line describing the problem.
    public var description: String {
        switch self {
        case let .writeFailed(path, reason): return "cannot write plot \(path): \(reason)"
        case let .invalidMetrics(reason): return "invalid metrics JSON: \(reason)"
        }
    }
}

/// A standalone SVG figure: an optional overall title above one or more ``Chart`` panels placed
/// side by side (e.g. loss and accuracy), with no external fonts, scripts or images.
public struct SVGPlot: Sendable {
    /// The panels, left to right.
    package var panels: [Chart]
    /// The title above all panels (none when nil).
    package var title: String?
    /// Width of each panel in pixels.
    package var panelWidth: Double
    /// Height of each panel in pixels.
    package var panelHeight: Double

    /// A figure of `panels` side by side.
    public init(panels: [Chart], title: String? = nil, panelWidth: Double = 480, panelHeight: Double = 380) {
        self.panels = panels; self.title = title; self.panelWidth = panelWidth; self.panelHeight = panelHeight
    }

    /// A figure of one panel.
    public init(_ chart: Chart, title: String? = nil, panelWidth: Double = 560, panelHeight: Double = 400) {
        self.init(panels: [chart], title: title, panelWidth: panelWidth, panelHeight: panelHeight)
    }

    /// Height reserved for the overall title.
    private var titleHeight: Double { title == nil ? 0 : 34 }

    /// The whole figure's width in pixels.
    package var width: Double { panelWidth * Double(max(1, panels.count)) }

    /// The whole figure's height in pixels.
    package var height: Double { panelHeight + titleHeight }

    /// Each panel's plotting area and data ranges, in the SVG's coordinates (see ``PlotFrame``).
    package func frames() -> [PlotFrame] { layouts().map(\.frame) }

    /// The complete SVG document.
    public func svg() -> String {
        var out = SVGWriter()
        out.line(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        out.line(#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\#(fmt(width))" height="\#(fmt(height))" viewBox="0 0 \#(fmt(width)) \#(fmt(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#)
        if let title { out.line("<title>\(SVGPlot.escape(title))</title>") }
        let layouts = layouts()
        out.line("<defs>")
        for (i, l) in layouts.enumerated() {
            let f = l.frame
            out.line(#"<clipPath id="neural-clip-\#(i)"><rect x="\#(fmt(f.left))" y="\#(fmt(f.top))" width="\#(fmt(f.width))" height="\#(fmt(f.height))"/></clipPath>"#)
        }
        out.line("</defs>")
        out.line(#"<rect x="0" y="0" width="\#(fmt(width))" height="\#(fmt(height))" fill="\#(hexffffff)"/>"#)
        if let title {
            out.line(#"<text class="figure-title" x="\#(fmt(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold" fill="\#(PlotColor.ink.svg)">\#(SVGPlot.escape(title))</text>"#)
        }
        for (i, l) in layouts.enumerated() { render(panels[i], l, index: i, into: &out) }
        out.line("</svg>")
        return out.text
    }

    /// Writes ``svg()`` to `url` atomically: a temporary file in the same directory, then a rename,
    /// so readers never see a half-written plot.
    public func write(to url: URL) throws {
        try SVGPlot.writeAtomically(svg(), to: url)
    }

    /// Writes `text` to `url` through a temporary file in the same directory and a rename.
    ///
    /// - Throws: ``PlotError/writeFailed(path:reason:)``.
    package static func writeAtomically(_ text: String, to url: URL) throws {
        let data = Data(text.utf8)
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
        } catch {
            throw PlotError.writeFailed(path: url.path, reason: SVGPlot.reason(error))
        }
        if Foundation.rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw PlotError.writeFailed(path: url.path, reason: reason)
        }
    }

    /// `s` with `&`, `<`, `>`, `"` and `'` escaped and characters XML 1.0 forbids removed, for use in
    /// SVG text and attributes.
    package static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                if v < 0x20 || (0xFFFE...0xFFFF).contains(v) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        return ns.localizedDescription
    }
}

// MARK: - Layout

/// Everything computed about a panel before drawing it.
fileprivate struct PanelLayout {
    var originX: Double
    var frame: PlotFrame
    var xTicks: [Double]
    var yTicks: [Double]
    var xTickLabels: [String]
    var yTickLabels: [String]
    var panelHeight: Double
    var panelTop: Double
}

/// Approximate width of `s` at `fontSize` in a sans-serif font (DejaVu Sans is about 0.6 em on average).
fileprivate func estimatedTextWidth(_ s: String, fontSize: Double) -> Double {
    Double(s.count) * fontSize * 0.6
}

fileprivate let hexffffff = "#ffffff", hexe6e6e6 = "#e6e6e6", hex9a9a9a = "#9a9a9a", hexc8c8c8 = "#c8c8c8"
fileprivate let tickFont = 11.0, labelFont = 13.0, panelTitleFont = 14.0, legendFont = 12.0

extension SVGPlot {
    fileprivate func layouts() -> [PanelLayout] {
        panels.enumerated().map { i, chart in
            layout(chart, originX: Double(i) * panelWidth, top: titleHeight)
        }
    }

    private func layout(_ chart: Chart, originX: Double, top panelTop: Double) -> PanelLayout {
        let (xr, yr) = chart.dataRanges()
        let xTarget = max(2, Int(panelWidth / 95)), yTarget = max(2, Int(panelHeight / 60))
        var xTicks = chart.xScale == .log ? Ticks.log(min: xr.lowerBound, max: xr.upperBound, targetCount: xTarget)
            : Ticks.linear(min: xr.lowerBound, max: xr.upperBound, targetCount: xTarget)
        if chart.integerXTicks { xTicks = xTicks.filter { $0 == $0.rounded() } }
        let yTicks = chart.yScale == .log ? Ticks.log(min: yr.lowerBound, max: yr.upperBound, targetCount: yTarget)
            : Ticks.linear(min: yr.lowerBound, max: yr.upperBound, targetCount: yTarget)
        let xLabels = labels(xTicks, chart.xScale), yLabels = labels(yTicks, chart.yScale)
        let maxY = yLabels.map { estimatedTextWidth($0, fontSize: tickFont) }.max() ?? 0
        let left = 10 + (chart.yLabel == nil ? 0 : 22) + maxY + 9
        let lastX = xLabels.last.map { estimatedTextWidth($0, fontSize: tickFont) / 2 } ?? 0
        let right = max(18, lastX + 6)
        let top = chart.title == nil ? 14.0 : 34.0
        let bottom = 8 + 5 + 16 + (chart.xLabel == nil ? 0 : 22) + 4.0
        let frame = PlotFrame(left: originX + left, top: panelTop + top, width: max(10, panelWidth - left - right),
                              height: max(10, panelHeight - top - bottom), xRange: xr, yRange: yr,
                              xScale: chart.xScale, yScale: chart.yScale)
        return PanelLayout(originX: originX, frame: frame, xTicks: xTicks, yTicks: yTicks, xTickLabels: xLabels,
                           yTickLabels: yLabels, panelHeight: panelHeight, panelTop: panelTop)
    }

    private func labels(_ ticks: [Double], _ scale: AxisScale) -> [String] {
        if scale == .log { return ticks.map(Ticks.logLabel) }
        let step = ticks.count >= 2 ? ticks[1] - ticks[0] : (ticks.first.map { Swift.abs($0) } ?? 1)
        let largest = ticks.map { Swift.abs($0) }.max() ?? 0
        return ticks.map { Ticks.label($0, step: step, largest: largest) }
    }
}

// MARK: - Drawing

/// Collects SVG text line by line.
fileprivate struct SVGWriter {
    var text = ""
    mutating func line(_ s: String) { text += s; text += "\n" }
}

/// A coordinate for SVG: two decimals, no trailing zeros, never `-0`.
fileprivate func fmt(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let r = (v * 100).rounded() / 100
    if r == r.rounded() { return Swift.abs(r) < 1e15 ? String(Int(r)) : String(format: "%.0f", r) }
    var s = String(format: "%.2f", r)
    while s.hasSuffix("0") { s.removeLast() }
    return s
}

private enum LegendMark { case line(PlotColor, LineDash, Double), dot(PlotColor) }

extension SVGPlot {
    fileprivate func render(_ chart: Chart, _ l: PanelLayout, index: Int, into out: inout SVGWriter) {
        let f = l.frame
        let clip = #"clip-path="url(#neural-clip-\#(index))""#
        out.line(#"<g class="panel" data-panel="\#(index)">"#)

        // Heat maps: runs of equal colour merged per row, slightly overlapped so no seams show.
        for h in chart.heatMaps {
            out.line(#"<g class="heatmap" \#(clip) shape-rendering="crispEdges" fill-opacity="\#(fmt(h.opacity))">"#)
            let dx = (h.x.upperBound - h.x.lowerBound) / Double(h.columns)
            let dy = (h.y.upperBound - h.y.lowerBound) / Double(h.rows)
            for r in 0..<h.rows {
                let y0 = f.pixel(x: h.x.lowerBound, y: h.y.lowerBound + Double(r + 1) * dy).y
                let y1 = f.pixel(x: h.x.lowerBound, y: h.y.lowerBound + Double(r) * dy).y
                guard y0.isFinite, y1.isFinite else { continue }
                var c = 0
                while c < h.columns {
                    let color = h.colors[r * h.columns + c]
                    var e = c + 1
                    while e < h.columns && h.colors[r * h.columns + e] == color { e += 1 }
                    let x0 = f.pixel(x: h.x.lowerBound + Double(c) * dx, y: h.y.lowerBound).x
                    let x1 = f.pixel(x: h.x.lowerBound + Double(e) * dx, y: h.y.lowerBound).x
                    if x0.isFinite && x1.isFinite {
                        out.line(#"<rect x="\#(fmt(min(x0, x1)))" y="\#(fmt(min(y0, y1)))" width="\#(fmt(abs(x1 - x0) + 0.5))" height="\#(fmt(abs(y1 - y0) + 0.5))" fill="\#(color.svg)"/>"#)
                    }
                    c = e
                }
            }
            out.line("</g>")
        }

        // Grid and zero lines.
        if chart.grid {
            out.line(#"<g class="grid" stroke="\#(hexe6e6e6)" stroke-width="1">"#)
            for t in l.xTicks { let x = f.pixel(x: t, y: f.yRange.lowerBound).x; if x.isFinite { out.line(vline(x, f)) } }
            for t in l.yTicks { let y = f.pixel(x: f.xRange.lowerBound, y: t).y; if y.isFinite { out.line(hline(y, f)) } }
            out.line("</g>")
        }
        if chart.zeroLines {
            out.line(#"<g class="zero-lines" stroke="\#(hex9a9a9a)" stroke-width="1">"#)
            if chart.xScale == .linear && f.xRange.contains(0) { out.line(vline(f.pixel(x: 0, y: 0).x, f)) }
            if chart.yScale == .linear && f.yRange.contains(0) { out.line(hline(f.pixel(x: 0, y: 0).y, f)) }
            out.line("</g>")
        }

        // Lines: one polyline per run of drawable points.
        for s in chart.lines {
            let label = s.label.map { #" data-label="\#(SVGPlot.escape($0))""# } ?? ""
            var style = #"fill="none" stroke="\#(s.color.svg)" stroke-width="\#(fmt(s.width))" stroke-linejoin="round" stroke-linecap="round""#
            if let d = s.dash.dashArray { style += #" stroke-dasharray="\#(d)""# }
            out.line(#"<g class="line-series"\#(label) \#(clip)>"#)
            for piece in pieces(s, f) {
                if piece.count == 1 {
                    out.line(#"<circle cx="\#(fmt(piece[0].x))" cy="\#(fmt(piece[0].y))" r="\#(fmt(s.width))" fill="\#(s.color.svg)"/>"#)
                } else {
                    let pts = piece.map { "\(fmt($0.x)),\(fmt($0.y))" }.joined(separator: " ")
                    out.line(#"<polyline points="\#(pts)" \#(style)/>"#)
                }
                if s.markers {
                    for p in piece { out.line(#"<circle cx="\#(fmt(p.x))" cy="\#(fmt(p.y))" r="\#(fmt(s.width + 1.5))" fill="\#(s.color.svg)" stroke="\#(hexffffff)" stroke-width="1"/>"#) }
                }
            }
            out.line("</g>")
        }

        // Scatter points.
        for s in chart.scatters {
            let label = s.label.map { #" data-label="\#(SVGPlot.escape($0))""# } ?? ""
            out.line(#"<g class="scatter-series"\#(label) \#(clip) fill-opacity="\#(fmt(s.opacity))" stroke="\#(hexffffff)" stroke-width="0.6">"#)
            for i in s.x.indices {
                let p = f.pixel(x: s.x[i], y: s.y[i])
                guard p.x.isFinite, p.y.isFinite else { continue }
                let color = s.classes.map { PlotColor.palette($0[i]) } ?? s.color
                out.line(#"<circle cx="\#(fmt(p.x))" cy="\#(fmt(p.y))" r="\#(fmt(s.radius))" fill="\#(color.svg)"/>"#)
            }
            out.line("</g>")
        }

        // Frame, ticks and tick labels.
        let ink = PlotColor.ink.svg
        out.line(#"<rect class="frame" x="\#(fmt(f.left))" y="\#(fmt(f.top))" width="\#(fmt(f.width))" height="\#(fmt(f.height))" fill="none" stroke="\#(ink)" stroke-width="1"/>"#)
        let bottom = f.top + f.height
        out.line(#"<g class="x-ticks" stroke="\#(ink)" stroke-width="1">"#)
        for t in l.xTicks {
            let x = f.pixel(x: t, y: f.yRange.lowerBound).x
            if x.isFinite { out.line(#"<line x1="\#(fmt(x))" y1="\#(fmt(bottom))" x2="\#(fmt(x))" y2="\#(fmt(bottom + 5))"/>"#) }
        }
        out.line("</g>")
        out.line(#"<g class="x-tick-labels" font-size="\#(fmt(tickFont))" fill="\#(ink)" text-anchor="middle">"#)
        for (t, s) in zip(l.xTicks, l.xTickLabels) {
            let x = f.pixel(x: t, y: f.yRange.lowerBound).x
            if x.isFinite { out.line(#"<text x="\#(fmt(x))" y="\#(fmt(bottom + 5 + 13))">\#(SVGPlot.escape(s))</text>"#) }
        }
        out.line("</g>")
        out.line(#"<g class="y-ticks" stroke="\#(ink)" stroke-width="1">"#)
        for t in l.yTicks {
            let y = f.pixel(x: f.xRange.lowerBound, y: t).y
            if y.isFinite { out.line(#"<line x1="\#(fmt(f.left - 5))" y1="\#(fmt(y))" x2="\#(fmt(f.left))" y2="\#(fmt(y))"/>"#) }
        }
        out.line("</g>")
        out.line(#"<g class="y-tick-labels" font-size="\#(fmt(tickFont))" fill="\#(ink)" text-anchor="end">"#)
        for (t, s) in zip(l.yTicks, l.yTickLabels) {
            let y = f.pixel(x: f.xRange.lowerBound, y: t).y
            if y.isFinite { out.line(#"<text x="\#(fmt(f.left - 8))" y="\#(fmt(y + tickFont * 0.36))">\#(SVGPlot.escape(s))</text>"#) }
        }
        out.line("</g>")

        // Axis labels and title.
        if let x = chart.xLabel {
            out.line(#"<text class="x-label" x="\#(fmt(f.left + f.width / 2))" y="\#(fmt(bottom + 5 + 16 + 20))" text-anchor="middle" font-size="\#(fmt(labelFont))" fill="\#(ink)">\#(SVGPlot.escape(x))</text>"#)
        }
        if let y = chart.yLabel {
            let cx = l.originX + 10 + labelFont * 0.8, cy = f.top + f.height / 2
            out.line(#"<text class="y-label" x="\#(fmt(cx))" y="\#(fmt(cy))" transform="rotate(-90 \#(fmt(cx)) \#(fmt(cy)))" text-anchor="middle" font-size="\#(fmt(labelFont))" fill="\#(ink)">\#(SVGPlot.escape(y))</text>"#)
        }
        if let t = chart.title {
            out.line(#"<text class="panel-title" x="\#(fmt(f.left + f.width / 2))" y="\#(fmt(l.panelTop + 22))" text-anchor="middle" font-size="\#(fmt(panelTitleFont))" font-weight="bold" fill="\#(ink)">\#(SVGPlot.escape(t))</text>"#)
        }

        renderLegend(chart, f, into: &out)
        out.line("</g>")
    }

    private func vline(_ x: Double, _ f: PlotFrame) -> String {
        #"<line x1="\#(fmt(x))" y1="\#(fmt(f.top))" x2="\#(fmt(x))" y2="\#(fmt(f.top + f.height))"/>"#
    }

    private func hline(_ y: Double, _ f: PlotFrame) -> String {
        #"<line x1="\#(fmt(f.left))" y1="\#(fmt(y))" x2="\#(fmt(f.left + f.width))" y2="\#(fmt(y))"/>"#
    }

    /// The runs of consecutive drawable points of a line, in pixels.
    private func pieces(_ s: LineSeries, _ f: PlotFrame) -> [[(x: Double, y: Double)]] {
        var out: [[(x: Double, y: Double)]] = [], cur: [(x: Double, y: Double)] = []
        for i in s.x.indices {
            let p = f.pixel(x: s.x[i], y: s.y[i])
            if p.x.isFinite && p.y.isFinite { cur.append(p) } else if !cur.isEmpty { out.append(cur); cur = [] }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    private func legendEntries(_ chart: Chart) -> [(String, LegendMark)] {
        var entries: [(String, LegendMark)] = []
        for s in chart.lines { if let l = s.label { entries.append((l, .line(s.color, s.dash, s.width))) } }
        for s in chart.scatters {
            if let classes = s.classes {
                for c in Set(classes).sorted() {
                    let name = s.classNames.flatMap { c >= 0 && c < $0.count ? $0[c] : nil } ?? "class \(c)"
                    entries.append((name, .dot(PlotColor.palette(c))))
                }
            } else if let l = s.label {
                entries.append((l, .dot(s.color)))
            }
        }
        return entries
    }

    private func renderLegend(_ chart: Chart, _ f: PlotFrame, into out: inout SVGWriter) {
        let entries = legendEntries(chart)
        guard chart.legend != .hidden, !entries.isEmpty else { return }
        let rowH = 18.0, pad = 8.0, swatch = 24.0
        let textW = entries.map { estimatedTextWidth($0.0, fontSize: legendFont) }.max() ?? 0
        let w = pad + swatch + 6 + textW + pad, h = pad * 2 + rowH * Double(entries.count) - 4
        let inset = 8.0
        let corners: [(LegendPosition, Double, Double)] = [
            (.topRight, f.left + f.width - inset - w, f.top + inset),
            (.topLeft, f.left + inset, f.top + inset),
            (.bottomRight, f.left + f.width - inset - w, f.top + f.height - inset - h),
            (.bottomLeft, f.left + inset, f.top + f.height - inset - h),
        ]
        var chosen = corners[0]
        if chart.legend == .auto {
            let pts = occupiedPixels(chart, f)
            var best = Int.max
            for c in corners {
                let count = pts.reduce(0) { $0 + ($1.x >= c.1 - 3 && $1.x <= c.1 + w + 3 && $1.y >= c.2 - 3 && $1.y <= c.2 + h + 3 ? 1 : 0) }
                if count < best { best = count; chosen = c }
            }
        } else if let c = corners.first(where: { $0.0 == chart.legend }) {
            chosen = c
        }
        let (x, y) = (chosen.1, chosen.2)
        out.line(#"<g class="legend">"#)
        out.line(#"<rect x="\#(fmt(x))" y="\#(fmt(y))" width="\#(fmt(w))" height="\#(fmt(h))" rx="3" fill="\#(hexffffff)" fill-opacity="0.88" stroke="\#(hexc8c8c8)" stroke-width="1"/>"#)
        for (i, (label, mark)) in entries.enumerated() {
            let cy = y + pad + rowH * Double(i) + 5
            switch mark {
            case let .line(color, dash, width):
                let d = dash.dashArray.map { #" stroke-dasharray="\#($0)""# } ?? ""
                out.line(#"<line x1="\#(fmt(x + pad))" y1="\#(fmt(cy))" x2="\#(fmt(x + pad + swatch))" y2="\#(fmt(cy))" stroke="\#(color.svg)" stroke-width="\#(fmt(width))"\#(d)/>"#)
            case let .dot(color):
                out.line(#"<circle cx="\#(fmt(x + pad + swatch / 2))" cy="\#(fmt(cy))" r="4.5" fill="\#(color.svg)"/>"#)
            }
            out.line(#"<text class="legend-label" x="\#(fmt(x + pad + swatch + 6))" y="\#(fmt(cy + legendFont * 0.36))" font-size="\#(fmt(legendFont))" fill="\#(PlotColor.ink.svg)">\#(SVGPlot.escape(label))</text>"#)
        }
        out.line("</g>")
    }

    /// Pixels covered by the data: scatter points and points every few pixels along each line.
    private func occupiedPixels(_ chart: Chart, _ f: PlotFrame) -> [(x: Double, y: Double)] {
        var out: [(x: Double, y: Double)] = []
        for s in chart.lines {
            for piece in pieces(s, f) {
                out.append(piece[0])
                for (a, b) in zip(piece, piece.dropFirst()) {
                    let steps = min(200, max(1, Int((hypot(b.x - a.x, b.y - a.y) / 4).rounded(.up))))
                    for k in 1...steps {
                        let t = Double(k) / Double(steps)
                        out.append((a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t))
                    }
                }
            }
        }
        for s in chart.scatters {
            for i in s.x.indices {
                let p = f.pixel(x: s.x[i], y: s.y[i])
                if p.x.isFinite && p.y.isFinite { out.append(p) }
            }
        }
        return out
    }
}

import Foundation
import Neural
import Testing

@Suite("Plot: nice ticks")
struct PlotTickTests {
    @Test func linearTicksUseOneTwoFiveSteps() {
        #expect(Ticks.linear(min: 0, max: 1, targetCount: 6) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(Ticks.linear(min: -4, max: 4, targetCount: 6) == [-4, -2, 0, 2, 4])
        #expect(Ticks.linear(min: 0.013, max: 0.087, targetCount: 5) == [0.02, 0.04, 0.06, 0.08])
        #expect(Ticks.linear(min: 1234, max: 98765, targetCount: 5) == [20000, 40000, 60000, 80000])
        #expect(Ticks.linear(min: -0.35, max: 0.35, targetCount: 7) == [-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3])
        #expect(Ticks.linear(min: 0.5, max: 10.5, targetCount: 4) == [5, 10])
        #expect(Ticks.linear(min: 3, max: 3) == [3])
        #expect(Ticks.linear(min: .nan, max: 1).isEmpty)
        #expect(Ticks.niceStep(span: 7, targetCount: 7) == 1)
        #expect(Ticks.niceStep(span: 0.3, targetCount: 3) == 0.1)
        #expect(Ticks.niceStep(span: 30, targetCount: 4) == 10)
        #expect(Ticks.niceStep(span: 13, targetCount: 4) == 5)
    }

    @Test func ticksAreNeverMoreThanTheTargetPlusOne() {
        for (lo, hi) in [(0.0, 1.0), (-3.7, 12.2), (1e-5, 3e-5), (-1e6, 7e6), (0.98, 0.99)] {
            for target in 2...10 {
                let t = Ticks.linear(min: lo, max: hi, targetCount: target)
                #expect(t.count >= 1 && t.count <= target + 1, "\(lo)…\(hi) target \(target): \(t)")
                #expect(t.allSatisfy { $0 >= lo - 1e-12 && $0 <= hi + 1e-12 })
            }
        }
    }

    @Test func logTicks() {
        #expect(Ticks.log(min: 0.01, max: 100) == [0.01, 0.1, 1, 10, 100])
        #expect(Ticks.log(min: 2, max: 40) == [2, 5, 10, 20])
        #expect(Ticks.log(min: 1e-6, max: 1e6, targetCount: 6) == [1e-6, 1e-4, 0.01, 1, 100, 1e4, 1e6])
        #expect(Ticks.log(min: 0, max: 10).isEmpty)
    }

    @Test func labels() {
        #expect(Ticks.label(0.2, step: 0.2, largest: 1) == "0.2")
        #expect(Ticks.label(-2, step: 2, largest: 4) == "\u{2212}2")
        #expect(Ticks.label(0, step: 0.1, largest: 1) == "0")
        #expect(Ticks.label(150_000, step: 50_000, largest: 200_000) == "150k")
        #expect(Ticks.label(2_500_000, step: 500_000, largest: 3_000_000) == "2.5M")
        #expect(Ticks.label(0.00002, step: 0.00001, largest: 0.00005) == "2e\u{2212}5")
        #expect(Ticks.logLabel(0.01) == "0.01")
        #expect(Ticks.logLabel(1000) == "1000")
        #expect(Ticks.logLabel(1e-6) == "1e\u{2212}6")
        #expect(Ticks.logLabel(2e7) == "2e7")
    }
}

@Suite("Plot: SVG output")
struct SVGPlotTests {
    private func sampleChart() -> Chart {
        var chart = Chart(title: "Loss", xLabel: "epoch", yLabel: "loss")
        chart.addLine(x: [1, 2, 3, 4], y: [1.0, 0.6, 0.4, 0.3], label: "train")
        chart.addLine(x: [1, 2, 3, 4], y: [1.1, 0.7, 0.55, 0.5], label: "test", dash: .dashed)
        return chart
    }

    @Test func wellFormedWithAxesTicksLabelsAndLegend() {
        let doc = parseSVG(SVGPlot(sampleChart(), title: "Training").svg())
        #expect(doc.all("text").contains { $0.attributes["class"] == "figure-title" && $0.text == "Training" })
        #expect(doc.all("text").contains { $0.attributes["class"] == "panel-title" && $0.text == "Loss" })
        #expect(doc.all("text").contains { $0.attributes["class"] == "x-label" && $0.text == "epoch" })
        #expect(doc.all("text").contains { $0.attributes["class"] == "y-label" && $0.text == "loss" })
        #expect(doc.texts(within: "legend") == ["train", "test"])
        #expect(doc.texts(within: "x-tick-labels") == ["1", "2", "3", "4"])
        #expect(doc.texts(within: "y-tick-labels") == ["0.4", "0.6", "0.8", "1.0"])
        #expect(doc.all("line", within: "x-ticks").count == 4)
        #expect(doc.all("line", within: "y-ticks").count == 4)
        #expect(doc.all("rect").contains { $0.attributes["class"] == "frame" })
        #expect(doc.all("polyline").count == 2)
        #expect(doc.all("polyline").contains { $0.attributes["stroke-dasharray"] != nil })
    }

    @Test func dataMapsIntoThePlotArea() {
        let plot = SVGPlot(sampleChart())
        let f = plot.frames()[0]
        #expect(f.xRange.lowerBound < 1 && f.xRange.upperBound > 4)
        #expect(f.left > 0 && f.left + f.width < plot.width && f.top > 0 && f.top + f.height < plot.height)
        let p = f.pixel(x: 2.5, y: 0.7)
        let back = f.dataPoint(px: p.x, py: p.y)
        #expect(abs(back.x - 2.5) < 1e-12 && abs(back.y - 0.7) < 1e-12)
        // y grows upwards.
        #expect(f.pixel(x: 1, y: 1).y < f.pixel(x: 1, y: 0.3).y)
    }

    @Test func integerTicksForEpochs() {
        var chart = Chart()
        chart.addLine(x: [1, 2, 3], y: [0.5, 0.3, 0.2])
        #expect(parseSVG(chart.svg()).texts(within: "x-tick-labels") == ["1.0", "1.5", "2.0", "2.5", "3.0"])
        chart.integerXTicks = true
        #expect(parseSVG(chart.svg()).texts(within: "x-tick-labels") == ["1", "2", "3"])
    }

    @Test func nonFiniteValuesAreSkipped() {
        var chart = Chart(title: "NaN")
        chart.addLine(x: [0, 1, 2, 3, 4, 5], y: [1, .nan, 2, 3, .infinity, 4], label: "gappy")
        chart.addLine(x: [0, 1], y: [.nan, .nan], label: "all missing")
        chart.addScatter(x: [0, .nan, 2], y: [1, 2, -.infinity], label: "dots")
        let svg = chart.svg()
        let lower = svg.lowercased()
        #expect(!lower.contains("nan\"") && !lower.contains("inf\"") && !lower.contains("nan,") && !lower.contains(",nan"))
        let doc = parseSVG(svg)
        #expect(doc.all("polyline").count == 1)                       // points 2–3; 0 and 5 stand alone
        #expect(doc.all("circle", within: "line-series").count == 2)
        #expect(doc.all("circle", within: "scatter-series").count == 1)
        let f = SVGPlot(chart).frames()[0]
        #expect(f.yRange.lowerBound < 1 && f.yRange.upperBound > 4 && f.yRange.upperBound < 5)
    }

    @Test func emptyAndConstantSeriesGetARange() {
        let empty = SVGPlot(Chart(title: "empty"))
        _ = parseSVG(empty.svg())
        #expect(empty.frames()[0].xRange == 0...1)
        var flat = Chart()
        flat.addLine(x: [1, 2, 3], y: [5, 5, 5])
        let f = SVGPlot(flat).frames()[0]
        #expect(f.yRange == 4.5...5.5)
        #expect(parseSVG(flat.svg()).texts(within: "y-tick-labels").contains("5.0"))
        var zero = Chart()
        zero.addLine(x: [1, 2], y: [0, 0])
        #expect(SVGPlot(zero).frames()[0].yRange == -1...1)
    }

    @Test func logScaleSkipsNonPositiveValues() {
        var chart = Chart(yScale: .log)
        chart.addLine(x: [0, 1, 2, 3, 4, 5], y: [100, 10, 1, 0.1, 0, -1], label: "loss")
        let doc = parseSVG(chart.svg())
        #expect(doc.texts(within: "y-tick-labels") == ["0.1", "1", "10", "100"])
        #expect(doc.polylinePoints(series: "loss").count == 4)
    }

    @Test func escapesXML() {
        #expect(SVGPlot.escape("a<b & \"c\" 'd' >") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos; &gt;")
        #expect(SVGPlot.escape("bell\u{07}") == "bell")
        let nasty = "<Loss & \"accuracy\"> 'quoted' ]]> \u{01}"
        var chart = Chart(title: nasty, xLabel: "x < y", yLabel: "a & b")
        chart.addLine(x: [0, 1], y: [0, 1], label: "</text><script>")
        let svg = SVGPlot(chart, title: nasty).svg()
        #expect(!svg.contains("<script>"))
        let doc = parseSVG(svg)
        #expect(doc.all("text").contains { $0.attributes["class"] == "panel-title" && $0.text == "<Loss & \"accuracy\"> 'quoted' ]]> " })
        #expect(doc.all("text").contains { $0.attributes["class"] == "x-label" && $0.text == "x < y" })
        #expect(doc.texts(within: "legend") == ["</text><script>"])
        #expect(doc.all("g").contains { $0.attributes["data-label"] == "</text><script>" })
    }

    @Test func panelsSideBySide() {
        var acc = Chart(title: "Accuracy", xLabel: "epoch", yLabel: "accuracy (%)")
        acc.addLine(x: [1, 2, 3], y: [90, 95, 97], label: "test accuracy")
        let plot = SVGPlot(panels: [sampleChart(), acc], title: "Run", panelWidth: 400, panelHeight: 300)
        #expect(plot.width == 800)
        let frames = plot.frames()
        #expect(frames.count == 2 && frames[1].left > 400 && frames[0].left + frames[0].width < 400)
        let doc = parseSVG(plot.svg())
        #expect(doc.all("g").filter { $0.attributes["class"] == "panel" }.count == 2)
        #expect(doc.texts(within: "legend") == ["train", "test", "test accuracy"])
        #expect(doc.all("clipPath").count == 2)
    }

    @Test func scatterClassesAndHeatMaps() {
        var chart = Chart(legend: .topLeft)
        chart.addHeatMap(x: 0...2, y: 0...1, columns: 4, rows: 2,
                         colors: [0, 0, 1, 1, 0, 1, 1, 1].map { PlotColor.palette($0).tinted(0.7) })
        chart.addScatter(x: [0.2, 1.8, 1.0], y: [0.2, 0.8, 0.5], classes: [0, 1, 2], classNames: ["cat", "dog"])
        let doc = parseSVG(chart.svg())
        #expect(doc.texts(within: "legend") == ["cat", "dog", "class 2"])
        // Runs of equal colour merge: row 0 has 2 runs, row 1 has 2.
        #expect(doc.all("rect", within: "heatmap").count == 4)
        let fills = doc.all("circle", within: "scatter-series").map { $0.attributes["fill"] ?? "" }
        #expect(fills == [PlotColor.palette(0).svg, PlotColor.palette(1).svg, PlotColor.palette(2).svg])
    }

    @Test func legendAvoidsTheData() {
        // A curve rising to the top right: the legend goes to the top left.
        var chart = Chart()
        let x = (0...100).map { Double($0) / 10 }
        chart.addLine(x: x, y: x.map { $0 * $0 }, label: "x²")
        let doc = parseSVG(chart.svg())
        let box = doc.all("rect", within: "legend")[0]
        let f = SVGPlot(chart).frames()[0]
        #expect(Double(box.attributes["x"]!)! < f.left + f.width / 2)
        #expect(Double(box.attributes["y"]!)! < f.top + f.height / 2)
    }

    @Test func awkwardDataStillRenders() throws {
        // Negative, tiny, huge and missing values with long labels, side by side with a wide log range.
        var a = Chart(title: "Tiny negative values", xLabel: "step", yLabel: "gradient")
        a.addLine(x: (0..<50).map(Double.init), y: (0..<50).map { -0.0003 * sin(Double($0) / 5) - 0.0001 },
                  label: "a rather long series name")
        a.addScatter(x: [3, .nan, 40], y: [-0.0002, 0, .infinity], label: "marks")
        var b = Chart(title: "Wide log range", xLabel: "epoch", yLabel: "loss (log scale)", yScale: .log)
        b.addLine(x: (1...40).map(Double.init), y: (1...40).map { 5e4 * pow(10, -Double($0) / 4) }, label: "train")
        b.addLine(x: [1, 40], y: [.nan, .nan], label: "nothing")
        var c = Chart(title: "Dollars", xLabel: "epoch", yLabel: "RMSE ($)")
        c.addLine(x: [1, 2, 3, 4], y: [1_234_567, 987_654, 812_345, 799_999], label: "test RMSE", markers: true)
        let plot = SVGPlot(panels: [a, b, c], title: "Awkward data")
        try saveForInspection(plot, "awkward")
        let doc = parseSVG(plot.svg())
        #expect(doc.texts(within: "legend") == ["a rather long series name", "marks", "train", "nothing", "test RMSE"])
        #expect(doc.all("text").filter { $0.attributes["class"] == "panel-title" }.count == 3)
        #expect(doc.texts(within: "y-tick-labels").contains { $0.hasSuffix("M") || $0.hasSuffix("k") })
        _ = parseSVG(Figures.history([]).svg())
    }

    @Test func writesAtomically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("loss.svg")
        let plot = SVGPlot(sampleChart())
        try plot.write(to: url)
        try plot.write(to: url)                       // replaces an existing file
        #expect(try String(contentsOf: url, encoding: .utf8) == plot.svg())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["loss.svg"])
        #expect(throws: PlotError.self) { try plot.write(to: dir.appendingPathComponent("missing/loss.svg")) }
    }
}

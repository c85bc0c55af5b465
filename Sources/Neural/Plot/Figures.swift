import Foundation

/// The figures Neural draws: the notes' Figures 7.1 and 7.3, training curves and decision regions.
/// Each returns an ``SVGPlot``; call `svg()` for the document or `write(to:)` to save it.
public enum Figures {
    /// Figure 7.3: ReLU, sigmoid, tanh, leaky ReLU (γ = 0.1), GELU and softplus (β = 1) over
    /// z ∈ `range`, each computed with Neural's own tensor operations at `samples` evenly spaced
    /// points (an odd count puts a sample exactly at z = 0 for a symmetric range).
    public static func activations(range: ClosedRange<Double> = -4...4, samples: Int = 401) -> SVGPlot {
        precondition(samples >= 2, "Neural: the activations figure needs at least 2 samples")
        let step = (range.upperBound - range.lowerBound) / Double(samples - 1)
        let zs = (0..<samples).map { i -> Double in
            i == samples - 1 ? range.upperBound : range.lowerBound + Double(i) * step
        }
        let z = Tensor(zs, dtype: .float64)
        let curves: [(String, Tensor, LineDash)] = withNoGrad {
            [("ReLU", z.relu(), .solid),
             ("sigmoid", z.sigmoid(), .solid),
             ("tanh", z.tanh(), .solid),
             ("leaky ReLU (γ = 0.1)", z.leakyReLU(slope: 0.1), .dashed),
             ("GELU", z.gelu(), .solid),
             ("softplus (β = 1)", z.softplus(beta: 1), .solid)]
        }
        var chart = Chart(title: "Activation functions (Figure 7.3)", xLabel: "z", yLabel: "g(z)", zeroLines: true)
        for (i, (name, values, dash)) in curves.enumerated() {
            chart.addLine(x: zs, y: values.scalars(as: Double.self), label: name, color: PlotColor.palette(i),
                          width: i == 0 ? 3.5 : (dash == .solid ? 2 : 2.2), dash: dash)   // ReLU wide enough to show under the curves that share its right half
        }
        return SVGPlot(chart, panelWidth: 620, panelHeight: 440)
    }

    /// Training curves: train and test loss per epoch on the left (log scale when the loss falls by
    /// more than a factor of 8), test accuracy (as a percentage) or test RMSE on the right when
    /// the points carry them.
    public static func history(_ points: [HistoryPoint], title: String = "Training history") -> SVGPlot {
        let epochs = points.map { Double($0.epoch) }
        let markers = points.count <= 30
        let losses = points.flatMap { [$0.trainLoss, $0.testLoss ?? .nan] }.filter { $0.isFinite }
        let positive = !losses.isEmpty && losses.allSatisfy { $0 > 0 }
        let logLoss = positive && (losses.max()! / losses.min()! > 8)
        var loss = Chart(title: "Loss", xLabel: "epoch", yLabel: logLoss ? "loss (log scale)" : "loss",
                         yScale: logLoss ? .log : .linear)
        loss.integerXTicks = true
        loss.addLine(x: epochs, y: points.map(\.trainLoss), label: "train", color: PlotColor.palette(0), markers: markers)
        if points.contains(where: { $0.testLoss != nil }) {
            loss.addLine(x: epochs, y: points.map { $0.testLoss ?? .nan }, label: "test", color: PlotColor.palette(1),
                         markers: markers)
        }
        var panels = [loss]
        if points.contains(where: { $0.testAccuracy != nil }) {
            let acc = points.map { $0.testAccuracy ?? .nan }
            let fraction = acc.filter(\.isFinite).allSatisfy { $0 <= 1 }
            var chart = Chart(title: "Test accuracy", xLabel: "epoch", yLabel: "accuracy (%)")
            chart.integerXTicks = true
            chart.addLine(x: epochs, y: fraction ? acc.map { $0 * 100 } : acc, label: "test accuracy",
                          color: PlotColor.palette(2), markers: markers)
            panels.append(chart)
        } else if points.contains(where: { $0.testRMSE != nil }) {
            var chart = Chart(title: "Test RMSE", xLabel: "epoch", yLabel: "RMSE")
            chart.integerXTicks = true
            chart.addLine(x: epochs, y: points.map { $0.testRMSE ?? .nan }, label: "test RMSE",
                          color: PlotColor.palette(2), markers: markers)
            panels.append(chart)
        }
        return SVGPlot(panels: panels, title: title, panelWidth: 480, panelHeight: 380)
    }

    /// The history figure of a `--metrics-json` document (see ``HistoryPoint/parse(metricsJSON:)``).
    ///
    /// - Throws: ``PlotError/invalidMetrics(_:)`` when the document is not in that format.
    public static func history(metricsJSON data: Data, title: String = "Training history") throws -> SVGPlot {
        history(try HistoryPoint.parse(metricsJSON: data), title: title)
    }

    /// Figure 7.1: house price against size with the curve of a fitted single-ReLU-neuron `model`
    /// (`[m, 1] → [m, 1]`), evaluated on a fine grid over the sizes without recording gradients.
    /// `x` and `y` hold one value per house (`[n]` or `[n, 1]`).
    public static func kinkedFit(x: Tensor, y: Tensor, model: any Layer, samples: Int = 300,
                                 title: String = "House price vs size: one ReLU neuron (Figure 7.1)") -> SVGPlot {
        let xs = x.scalars(as: Double.self), ys = y.scalars(as: Double.self)
        precondition(xs.count == ys.count, "Neural: kinkedFit needs one price per size (\(xs.count) sizes, \(ys.count) prices)")
        let finite = xs.filter(\.isFinite)
        let lo = finite.min() ?? 0, hi = finite.max() ?? 1
        let grid = (0..<max(2, samples)).map { lo + (hi - lo) * Double($0) / Double(max(2, samples) - 1) }
        let fit = evaluate(model, rows: grid, columns: 1, dtype: parameterDType(model, fallback: x.dtype))
        var chart = Chart(title: title, xLabel: "size", yLabel: "price")
        chart.addScatter(x: xs, y: ys, label: "houses", color: PlotColor.palette(0), radius: 3, opacity: 0.7)
        chart.addLine(x: grid, y: fit.scalars(as: Double.self), label: "ReLU(w·size + b) fit", color: PlotColor.palette(3),
                      width: 2.5)
        return SVGPlot(chart, panelWidth: 600, panelHeight: 420)
    }

    /// Decision regions of a two-input classifier (two spirals): the plane around `points`
    /// (`[n, 2]`) is cut into `resolution × resolution` cells, the model is run on the cell centres
    /// in evaluation mode without recording gradients, and each cell takes the colour of its
    /// predicted class (argmax of the outputs; for a single output, class 1 when the logit is
    /// positive). The points are drawn on top, coloured by `labels`.
    public static func decisionRegions(model: any Layer, points: Tensor, labels: [Int], resolution: Int = 150,
                                       classNames: [String]? = nil,
                                       title: String = "Two spirals: decision regions") -> SVGPlot {
        precondition(points.rank == 2 && points.shape[1] == 2, "Neural: decisionRegions needs points of shape [n, 2], got \(points.shape)")
        precondition(labels.count == points.shape[0], "Neural: decisionRegions needs one label per point (\(labels.count) for \(points.shape[0]))")
        precondition(resolution >= 2, "Neural: decisionRegions needs a resolution of at least 2")
        let p = points.scalars(as: Double.self)
        let px = stride(from: 0, to: p.count, by: 2).map { p[$0] }, py = stride(from: 1, to: p.count, by: 2).map { p[$0] }
        // A square window around the points with a 10% margin on each side.
        func bounds(_ v: [Double]) -> (Double, Double) {
            let f = v.filter(\.isFinite)
            return (f.min() ?? -1, f.max() ?? 1)
        }
        let (x0, x1) = bounds(px), (y0, y1) = bounds(py)
        let half = max(x1 - x0, y1 - y0, 1e-6) * 0.6
        let cx = (x0 + x1) / 2, cy = (y0 + y1) / 2
        let xr = (cx - half)...(cx + half), yr = (cy - half)...(cy + half)
        let cell = 2 * half / Double(resolution)
        var grid: [Double] = []
        grid.reserveCapacity(resolution * resolution * 2)
        for r in 0..<resolution {          // row 0 at the bottom, as HeatMap expects
            for c in 0..<resolution {
                grid += [xr.lowerBound + (Double(c) + 0.5) * cell, yr.lowerBound + (Double(r) + 0.5) * cell]
            }
        }
        let wasTraining = model.isTraining
        _ = model.eval()
        let out = evaluate(model, rows: grid, columns: 2, dtype: parameterDType(model, fallback: points.dtype))
        _ = model.train(wasTraining)
        let k = out.rank == 2 ? out.shape[1] : 1
        let scores = out.scalars(as: Double.self)
        let classes = (0..<resolution * resolution).map { i -> Int in
            if k == 1 { return scores[i] > 0 ? 1 : 0 }
            var best = 0
            for j in 1..<k where scores[i * k + j] > scores[i * k + best] { best = j }
            return best
        }
        var chart = Chart(title: title, xLabel: "x₁", yLabel: "x₂", xLimits: xr, yLimits: yr, padding: 0, grid: false)
        chart.addHeatMap(x: xr, y: yr, columns: resolution, rows: resolution,
                         colors: classes.map { PlotColor.palette($0).tinted(0.7) })
        chart.addScatter(x: px, y: py, color: PlotColor.palette(0), classes: labels, classNames: classNames,
                         radius: 3.2, opacity: 0.95)
        return SVGPlot(chart, panelWidth: 560, panelHeight: 540)
    }

    /// The dtype of the model's first parameter (what its input should be), else `fallback`.
    private static func parameterDType(_ model: any Layer, fallback: DType) -> DType {
        model.namedParameters().first?.parameter.value.dtype ?? fallback
    }

    /// Runs `model` on a `[rows.count / columns, columns]` batch without recording gradients.
    private static func evaluate(_ model: any Layer, rows: [Double], columns: Int, dtype: DType) -> Tensor {
        withNoGrad { model(Tensor(rows, shape: [rows.count / columns, columns], dtype: dtype)) }
    }
}

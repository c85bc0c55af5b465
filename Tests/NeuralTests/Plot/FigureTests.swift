import Foundation
import Neural
import Testing

@Suite("Plot: figures")
struct FigureTests {
    @Test func activationsFigure7_3() throws {
        let plot = Figures.activations()
        try saveForInspection(plot, "activations")
        let doc = parseSVG(plot.svg())
        #expect(doc.texts(within: "legend") == ["ReLU", "sigmoid", "tanh", "leaky ReLU (γ = 0.1)", "GELU", "softplus (β = 1)"])
        #expect(doc.all("text").contains { $0.attributes["class"] == "x-label" && $0.text == "z" })
        #expect(doc.texts(within: "x-tick-labels").contains("\u{2212}4") && doc.texts(within: "x-tick-labels").contains("4"))
        // The ReLU polyline passes through (0, 0) and (4, 4) in data coordinates.
        let f = plot.frames()[0]
        let relu = doc.polylinePoints(series: "ReLU")
        #expect(relu.count == 401)
        for (x, y) in [(0.0, 0.0), (4.0, 4.0), (-4.0, 0.0), (2.0, 2.0)] {
            let p = f.pixel(x: x, y: y)
            #expect(relu.contains { abs($0.x - p.x) < 0.01 && abs($0.y - p.y) < 0.01 }, "ReLU misses (\(x), \(y))")
        }
        let first = f.dataPoint(px: relu[0].x, py: relu[0].y), last = f.dataPoint(px: relu[400].x, py: relu[400].y)
        #expect(abs(first.x + 4) < 0.02 && abs(first.y) < 0.02 && abs(last.x - 4) < 0.02 && abs(last.y - 4) < 0.02)
        // tanh reaches −tanh(4) ≈ −0.9993 at the left end.
        let tanh = doc.polylinePoints(series: "tanh")
        #expect(abs(f.dataPoint(px: tanh[0].x, py: tanh[0].y).y + 0.9993) < 0.02)
    }

    private let classificationJSON = """
    {"epochs": [
      {"epoch": 1, "train_loss": 0.52, "test_loss": 0.31, "test_accuracy": 0.912, "seconds": 1.5},
      {"epoch": 2, "train_loss": 0.21, "test_loss": 0.15, "test_accuracy": 0.955, "seconds": 1.4},
      {"epoch": 3, "train_loss": 0.12, "test_loss": 0.11, "test_accuracy": 0.968, "seconds": 1.4},
      {"epoch": 4, "train_loss": 0.08, "test_loss": 0.09, "test_accuracy": 0.975, "seconds": 1.4},
      {"epoch": 5, "train_loss": 0.05, "test_loss": 0.08, "test_accuracy": 0.978, "seconds": 1.4}],
     "final": {"epoch": 5, "train_loss": 0.05, "test_loss": 0.08, "test_accuracy": 0.978, "seconds": 1.4,
               "samples_per_second": 40000, "total_seconds": 7.1}}
    """

    @Test func historyFromMetricsJSON() throws {
        let points = try HistoryPoint.parse(metricsJSON: Data(classificationJSON.utf8))
        #expect(points.count == 5)
        #expect(points[1] == HistoryPoint(epoch: 2, trainLoss: 0.21, testLoss: 0.15, testAccuracy: 0.955, seconds: 1.4))
        let plot = try Figures.history(metricsJSON: Data(classificationJSON.utf8))
        try saveForInspection(plot, "history-classification")
        #expect(plot.panels.count == 2)
        let doc = parseSVG(plot.svg())
        #expect(doc.texts(within: "legend") == ["train", "test", "test accuracy"])
        #expect(doc.all("text").filter { $0.attributes["class"] == "panel-title" }.map(\.text) == ["Loss", "Test accuracy"])
        #expect(doc.all("text").contains { $0.attributes["class"] == "y-label" && $0.text == "accuracy (%)" })
        #expect(doc.texts(within: "x-tick-labels").allSatisfy { Int($0) != nil })
        // Accuracy fractions are drawn as percentages.
        let f = plot.frames()[1]
        let acc = doc.polylinePoints(series: "test accuracy")
        #expect(abs(f.dataPoint(px: acc[4].x, py: acc[4].y).y - 97.8) < 0.05)
        // The loss falls by more than 8×: log scale.
        #expect(plot.panels[0].yScale == .log)
    }

    @Test func historyForRegressionAndMissingValues() throws {
        let json = """
        {"epochs": [{"epoch": 1, "train_loss": 0.9, "test_loss": null, "test_rmse": 81234.5, "seconds": 0.2},
                    {"epoch": 2, "train_loss": 0.5, "test_rmse": 70110.0},
                    {"train_loss": "NaN", "test_rmse": 65000}],
         "final": {}}
        """
        let points = try HistoryPoint.parse(metricsJSON: Data(json.utf8))
        #expect(points.map(\.epoch) == [1, 2, 3])
        #expect(points[0].testLoss == nil && points[2].trainLoss.isNaN)
        let plot = Figures.history(points)
        try saveForInspection(plot, "history-regression")
        let doc = parseSVG(plot.svg())
        #expect(doc.all("text").filter { $0.attributes["class"] == "panel-title" }.map(\.text) == ["Loss", "Test RMSE"])
        #expect(doc.texts(within: "legend") == ["train", "test RMSE"])
        #expect(doc.texts(within: "y-tick-labels").contains { $0.hasSuffix("k") })
    }

    @Test func invalidMetricsJSON() {
        for bad in ["not json", "[1, 2]", "{\"final\": {}}", "{\"epochs\": [3]}", "{\"epochs\": [{\"epoch\": 1}]}",
                    "{\"epochs\": [{\"train_loss\": \"x\"}]}", "{\"epochs\": [{\"epoch\": 1.5, \"train_loss\": 1}]}"] {
            #expect(throws: PlotError.self, "\(bad)") { try Figures.history(metricsJSON: Data(bad.utf8)) }
        }
    }

    @Test func kinkedFitFigure7_1() throws {
        let (size, price) = Synthetic.housePrices(count: 120, generator: RandomGenerator(seed: 800))
        let neuron = Linear(1, 1)
        neuron.weight.value = Tensor([1.0], shape: [1, 1])
        neuron.bias!.value = Tensor([-0.5])
        let plot = Figures.kinkedFit(x: size, y: price, model: Sequential(neuron, ReLU()))
        try saveForInspection(plot, "kinked-fit")
        let doc = parseSVG(plot.svg())
        #expect(doc.texts(within: "legend") == ["ReLU(w·size + b) fit", "houses"])
        #expect(doc.all("circle", within: "scatter-series").count == 120)
        // The fitted curve is flat at 0 left of the kink at size 0.5 and has slope 1 right of it.
        let f = plot.frames()[0]
        let fit = doc.polylinePoints(series: "ReLU(w·size + b) fit").map { f.dataPoint(px: $0.x, py: $0.y) }
        #expect(fit.count == 300)
        for p in fit { #expect(abs(p.y - max(0, p.x - 0.5)) < 0.01) }
    }

    @Test func decisionRegionsOfTwoSpirals() throws {
        let (x, labels) = Synthetic.twoSpirals(pointsPerClass: 150, generator: RandomGenerator(seed: 810))
        let model = Sequential.mlp([2, 64, 64, 2], generator: RandomGenerator(seed: 811))
        let opt = Adam(model.parameters, learningRate: 0.02)
        for _ in 0..<400 {
            opt.zeroGrad()
            crossEntropyLoss(logits: model(x), labels: labels).backward()
            opt.step()
        }
        #expect(model.isTraining)
        let plot = Figures.decisionRegions(model: model, points: x, labels: labels, resolution: 120)
        #expect(model.isTraining)                       // the mode is restored
        try saveForInspection(plot, "decision-regions")
        let doc = parseSVG(plot.svg())
        #expect(doc.texts(within: "legend") == ["class 0", "class 1"])
        #expect(doc.all("circle", within: "scatter-series").count == 300)
        let cells = doc.all("rect", within: "heatmap")
        #expect(cells.count >= 120 && cells.count < 120 * 120 / 4)   // runs merged
        let fills = Set(cells.compactMap { $0.attributes["fill"] })
        #expect(fills == [PlotColor.palette(0).tinted(0.7).svg, PlotColor.palette(1).tinted(0.7).svg])
        // The regions agree with the model where the points are: most training points lie in a cell
        // of their own class colour.
        let f = plot.frames()[0]
        let p = x.scalars(as: Double.self)
        var agree = 0
        for i in labels.indices {
            let px = f.pixel(x: p[2 * i], y: p[2 * i + 1])
            let hit = cells.first { c in
                let (cx, cy) = (Double(c.attributes["x"]!)!, Double(c.attributes["y"]!)!)
                let (w, h) = (Double(c.attributes["width"]!)!, Double(c.attributes["height"]!)!)
                return px.x >= cx && px.x < cx + w - 0.5 && px.y >= cy && px.y < cy + h - 0.5
            }
            if hit?.attributes["fill"] == PlotColor.palette(labels[i]).tinted(0.7).svg { agree += 1 }
        }
        let training = withNoGrad { model(x) }.argmax(axis: 1).scalars(as: Double.self)
        let trainingAccuracy = Double(zip(training, labels).filter { Int($0) == $1 }.count) / Double(labels.count)
        print("decision regions: training accuracy \(trainingAccuracy), points in their class's region \(agree)/\(labels.count)")
        #expect(Double(agree) / Double(labels.count) > trainingAccuracy - 0.05)
    }

    @Test func decisionRegionsWithOneLogit() {
        let (x, labels) = Synthetic.twoSpirals(pointsPerClass: 20, generator: RandomGenerator(seed: 820))
        let model = Sequential.mlp([2, 8, 1], generator: RandomGenerator(seed: 821))
        let doc = parseSVG(Figures.decisionRegions(model: model, points: x, labels: labels, resolution: 20,
                                                   classNames: ["inner", "outer"]).svg())
        #expect(doc.texts(within: "legend") == ["inner", "outer"])
        #expect(!doc.all("rect", within: "heatmap").isEmpty)
    }
}

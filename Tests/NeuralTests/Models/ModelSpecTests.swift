import Neural
import Testing

// The model spec language: parsing, building with sizes inferred from the running shape, the
// output layer taken from the data, canonical round trips and errors that point at the token.

/// Builds `spec` on `inputShape` and runs a batch of `batch` zeros-and-noise examples through it.
private func buildAndRun(_ spec: String, inputShape: [Int], outputSize: Int?, batch: Int = 3) throws -> (Sequential, Tensor) {
    let model = try ModelSpec.parse(spec).build(inputShape: inputShape, outputSize: outputSize, generator: RandomGenerator(seed: 7))
    model.eval()
    let x = Tensor.uniform([batch] + inputShape, generator: RandomGenerator(seed: 8))
    return (model, model(x))
}

/// The error `body` throws (fails the test when it throws none or another kind).
private func specError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> ModelSpecError? {
    do {
        try body()
        Issue.record("expected a ModelSpecError", sourceLocation: sourceLocation)
    } catch let e as ModelSpecError {
        return e
    } catch {
        Issue.record("expected a ModelSpecError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// Checks that `error`'s description quotes `spec` and has carets exactly under `token`
/// (its first occurrence in `spec`), and that the message contains `fragment`.
private func expectCaret(_ error: ModelSpecError?, under token: String, in spec: String, saying fragment: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    let lines = error.description.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    #expect(lines.count >= 3, "\(error.description)", sourceLocation: sourceLocation)
    guard lines.count >= 3 else { return }
    #expect(lines[0].contains(fragment), "message \(lines[0]) lacks \(fragment)", sourceLocation: sourceLocation)
    #expect(lines[1] == "  " + spec, sourceLocation: sourceLocation)
    guard let r = spec.range(of: token) else { Issue.record("no \(token) in \(spec)"); return }
    let column = spec.distance(from: spec.startIndex, to: r.lowerBound)
    let expected = "  " + String(repeating: " ", count: column) + String(repeating: "^", count: token.count)
    #expect(lines[2] == expected, "caret line\n\(lines[1])\n\(lines[2])\nexpected\n\(expected)", sourceLocation: sourceLocation)
    #expect(error.token == token, sourceLocation: sourceLocation)
}

/// Parses `spec`, expects a `ModelSpecError`, and checks it with `expectCaret`; returns the error.
@discardableResult
private func expectParseError(_ spec: String, under token: String, saying fragment: String,
                              sourceLocation: SourceLocation = #_sourceLocation) -> ModelSpecError? {
    let e = specError({ _ = try ModelSpec.parse(spec) }, sourceLocation: sourceLocation)
    expectCaret(e, under: token, in: spec, saying: fragment, sourceLocation: sourceLocation)
    return e
}

@Suite("ModelSpec")
struct ModelSpecTests {
    // MARK: Every token parses, builds and runs

    @Test(arguments: [
        // (spec, input shape, output size, expected output shape per example)
        ("linear(64) tanh linear(1)", [8], 1, [1]),
        ("mlp(512,512)", [1, 28, 28], 10, [10]),
        ("mlp(16)", [8], 3, [3]),
        ("conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)", [1, 28, 28], 10, [10]),
        ("conv1d(16,5) relu maxpool(2) flatten", [2, 20], 4, [4]),
        ("conv2d(8,3,stride=2,padding=1) gelu avgpool(2)", [3, 16, 16], 5, [5]),
        ("conv2d(8,3,padding=same) batchnorm relu", [3, 9, 9], nil, [8, 9, 9]),
        ("conv1d(4,4,padding=0) batchnorm avgpool(2,stride=1)", [2, 12], nil, [4, 8]),
        ("linear(32) batchnorm relu dropout(0.5) linear(2)", [6], 2, [2]),
        ("linear(32) layernorm relu dropout linear(2)", [6], 2, [2]),
        ("conv2d(8,3) groupnorm(4) leakyrelu(0.1) flatten", [1, 8, 8], 3, [3]),
        ("groupnorm(2) softplus(2) sigmoid identity", [4], nil, [4]),
        ("linear(64) residual(32) residual", [10], 3, [3]),
        ("resnet(64,3)", [10], 3, [3]),
        ("resnet(10,2)", [10], 3, [3]),
        ("resnet(16,1)", [1, 4, 4], 2, [2]),
        ("maxpool1d(2) batchnorm1d flatten", [3, 8], nil, [12]),
        ("maxpool2d(2) batchnorm2d avgpool2d(2) maxpool(1) flatten", [2, 8, 8], nil, [8]),
        ("maxpool1d(2) batchnorm1d avgpool1d(2) avgpool(1) flatten", [3, 8], nil, [6]),
        ("conv2d(4,3) relu", [1, 6, 6], 2, [2]),
        ("layernorm", [2, 3, 3], nil, [2, 3, 3]),
    ] as [(String, [Int], Int?, [Int])])
    func everyTokenBuildsAndRuns(_ spec: String, inputShape: [Int], outputSize: Int?, expected: [Int]) throws {
        let (model, y) = try buildAndRun(spec, inputShape: inputShape, outputSize: outputSize, batch: 3)
        #expect(y.shape == [3] + expected)
        let parsed = try ModelSpec.parse(spec)
        #expect(try parsed.outputShape(inputShape: inputShape, outputSize: outputSize) == expected)
        // The summary measures the same shapes the spec predicts.
        #expect(ModelSummary(model: model, inputShape: inputShape).outputShape == expected)
    }

    @Test func issueExamplesGiveMNISTLogits() throws {
        for spec in ["conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)", "mlp(512,512)"] {
            let (_, y) = try buildAndRun(spec, inputShape: [1, 28, 28], outputSize: 10, batch: 5)
            #expect(y.shape == [5, 10])
        }
    }

    @Test func layersAndTheirSizesFollowTheRunningShape() throws {
        let model = try ModelSpec.parse("conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)")
            .build(inputShape: [1, 28, 28], outputSize: 10)
        let conv = try #require(model.layers[0] as? Conv2D)
        #expect(conv.inChannels == 1 && conv.outChannels == 32 && conv.kernelSize == (3, 3) && conv.padding == (0, 0))
        #expect(model.layers[2] is MaxPool2D && model.layers[3] is Flatten)
        let fc = try #require(model.layers[4] as? Linear)
        #expect(fc.inFeatures == 32 * 13 * 13 && fc.outFeatures == 128)
        #expect(model.layers.count == 7)   // ends in linear(10): nothing appended

        let conv1 = try #require(try ModelSpec.parse("conv1d(16,5)").build(inputShape: [3, 50], outputSize: nil).layers[0] as? Conv1D)
        #expect(conv1.inChannels == 3 && conv1.padding == 2)   // the notes' "same" padding
        let strided = try #require(try ModelSpec.parse("conv2d(32,3,stride=2,padding=1)").build(inputShape: [3, 8, 8], outputSize: nil)
            .layers[0] as? Conv2D)
        #expect(strided.stride == (2, 2) && strided.padding == (1, 1))

        let norms = try ModelSpec.parse("batchnorm flatten batchnorm layernorm groupnorm(4)").build(inputShape: [4, 3, 3], outputSize: nil)
        #expect((norms.layers[0] as? BatchNorm2D)?.numFeatures == 4)
        #expect((norms.layers[2] as? BatchNorm1D)?.numFeatures == 36)
        #expect((norms.layers[3] as? LayerNorm)?.normalizedShape == [36])
        #expect((norms.layers[4] as? GroupNorm).map { ($0.numGroups, $0.numChannels) } ?? (0, 0) == (4, 36))

        let acts = try ModelSpec.parse("leakyrelu(0.1) softplus(2) dropout(0.25) leakyrelu dropout").build(inputShape: [3], outputSize: nil)
        #expect((acts.layers[0] as? LeakyReLU)?.slope == 0.1 && (acts.layers[1] as? Softplus)?.beta == 2)
        #expect((acts.layers[2] as? Dropout)?.p == 0.25 && (acts.layers[3] as? LeakyReLU)?.slope == 0.01)
        #expect((acts.layers[4] as? Dropout)?.p == 0.5)

        let res = try ModelSpec.parse("residual(32) residual").build(inputShape: [12], outputSize: nil)
        #expect((res.layers[0] as? Residual).map { ($0.dim, $0.fc1.outFeatures) } ?? (0, 0) == (12, 32))
        #expect((res.layers[1] as? Residual)?.fc1.outFeatures == 12)
    }

    // MARK: Output size

    @Test func outputLayerComesFromTheData() throws {
        let mlp = try ModelSpec.parse("mlp(512,512)").build(inputShape: [1, 28, 28], outputSize: 10)
        #expect(mlp.layers.map { String(describing: type(of: $0)) } == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"])
        #expect((mlp.layers.last as? Linear).map { ($0.inFeatures, $0.outFeatures) } ?? (0, 0) == (512, 10))

        // Ends in an activation: linear(outputSize) appended.
        let act = try ModelSpec.parse("linear(64) tanh").build(inputShape: [8], outputSize: 1)
        #expect(act.layers.count == 3 && (act.layers[2] as? Linear)?.outFeatures == 1)

        // Ends with a multi-dimensional shape: flatten, then the output layer.
        let cnn = try ModelSpec.parse("conv2d(4,3) relu").build(inputShape: [1, 6, 6], outputSize: 2)
        #expect(cnn.layers.count == 4 && cnn.layers[2] is Flatten && (cnn.layers[3] as? Linear)?.inFeatures == 4 * 4 * 4)

        // No output size: nothing appended.
        #expect(try ModelSpec.parse("mlp(512,512)").build(inputShape: [784], outputSize: nil).layers.count == 4)

        // ResNet-S (eq. 7.39): blocks then the head; a projection only when the width differs.
        let resnet = try ModelSpec.parse("resnet(64,3)").build(inputShape: [64], outputSize: 10)
        #expect(resnet.stateDict().map(\.name).first == "0.fc1.weight")
        #expect(resnet.parameterCount == Sequential.resNetS(dim: 64, blocks: 3, outFeatures: 10).parameterCount)
        let projected = try ModelSpec.parse("resnet(64,3)").build(inputShape: [20], outputSize: 10)
        #expect(projected.layers.count == 5 && (projected.layers[0] as? Linear)?.inFeatures == 20)
    }

    @Test func lastLinearMustMatchTheOutputSize() {
        let spec = "linear(64) relu linear(5)"
        let e = specError { _ = try ModelSpec.parse(spec).build(inputShape: [8], outputSize: 10) }
        expectCaret(e, under: "linear(5)", in: spec, saying: "gives 5 outputs but the data needs 10")
        #expect(e?.hint?.contains("linear(10)") == true)
    }

    // MARK: Names and round trip

    @Test func parameterNamesAreTorchSequentialKeys() throws {
        let model = try ModelSpec.parse("conv2d(8,3) batchnorm relu flatten linear(16) residual relu")
            .build(inputShape: [1, 6, 6], outputSize: 3)
        #expect(model.stateDict().map(\.name) == [
            "0.weight", "0.bias", "1.weight", "1.bias", "4.weight", "4.bias",
            "5.fc1.weight", "5.fc1.bias", "5.fc2.weight", "5.fc2.bias", "7.weight", "7.bias",
            "1.running_mean", "1.running_var", "1.num_batches_tracked",
        ])
    }

    @Test func canonicalDescriptionRoundTrips() throws {
        let cases: [(String, String)] = [
            ("Conv2D(32, 3)  ReLU   MaxPool(2) flatten Linear( 128 ) relu linear(10)",
             "conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)"),
            ("mlp(512, 512)", "mlp(512,512)"),
            ("conv2d(32,3,stride=2,padding=1)", "conv2d(32,3,stride=2,padding=1)"),
            ("conv2d(32, 3, 2, 1)", "conv2d(32,3,stride=2,padding=1)"),
            ("conv2d(32,3,stride=1,padding=0,dilation=1)", "conv2d(32,3,padding=0)"),
            ("conv2d(8,5,padding=same)", "conv2d(8,5,padding=2)"),
            ("conv1d(16,5)", "conv1d(16,5)"),
            ("maxpool(2,stride=2) avgpool(3,1,1)", "maxpool(2) avgpool(3,stride=1,padding=1)"),
            ("dropout leakyrelu softplus", "dropout(0.5) leakyrelu(0.01) softplus(1)"),
            ("softplus(2.0) dropout(0.1)", "softplus(2) dropout(0.1)"),
            ("batchnorm batchnorm2d layernorm groupnorm(4) residual residual(64) resnet(64,3)",
             "batchnorm batchnorm2d layernorm groupnorm(4) residual residual(64) resnet(64,3)"),
            ("sigmoid tanh gelu identity relu()", "sigmoid tanh gelu identity relu"),
        ]
        for (text, canonical) in cases {
            let spec = try ModelSpec.parse(text)
            #expect(spec.description == canonical)
            let again = try ModelSpec.parse(spec.description)
            #expect(again == spec && again.description == canonical)
            #expect(ModelSpec(layers: spec.layers) == spec)
        }
    }

    @Test func sameSpecAndShapeGiveTheSameParameterNamesAndShapes() throws {
        let text = "conv2d(16,3,padding=1) batchnorm relu maxpool(2) conv2d(32,3) gelu flatten dropout(0.2) mlp(64) residual"
        let original = try ModelSpec.parse(text).build(inputShape: [3, 16, 16], outputSize: 7, generator: RandomGenerator(seed: 1))
        let rebuilt = try ModelSpec.parse(ModelSpec.parse(text).description)
            .build(inputShape: [3, 16, 16], outputSize: 7, generator: RandomGenerator(seed: 2))
        let a = original.stateDict(), b = rebuilt.stateDict()
        #expect(a.map(\.name) == b.map(\.name))
        #expect(a.map(\.tensor.shape) == b.map(\.tensor.shape))
        // Copying the tensors over by name gives the same function.
        let byName = Dictionary(uniqueKeysWithValues: a.map { ($0.name, $0.tensor) })
        for (name, p) in rebuilt.namedParameters() { p.value = byName[name]! }
        for (name, buffer) in rebuilt.namedBuffers() { buffer.value = byName[name]! }
        original.eval(); rebuilt.eval()
        let x = Tensor.uniform([2, 3, 16, 16], generator: RandomGenerator(seed: 3))
        expectBitIdentical(original(x), rebuilt(x))
    }

    @Test func seededBuildsAreReproducible() throws {
        let spec = try ModelSpec.parse("mlp(32,32)")
        let a = try spec.build(inputShape: [5], outputSize: 2, generator: RandomGenerator(seed: 4))
        let b = try spec.build(inputShape: [5], outputSize: 2, generator: RandomGenerator(seed: 4))
        for (p, q) in zip(a.parameters, b.parameters) { expectBitIdentical(p.value, q.value) }
    }

    // MARK: The registry

    @Test func registryListsEveryTokenNameOnceInHelpOrder() {
        // The order decides "did you mean" between equally near names (maxpooling → maxpool, not maxpool1d).
        #expect(ModelSpec.tokenNames == [
            "linear", "mlp", "conv1d", "conv2d", "convtranspose1d", "convtranspose2d", "maxpool", "maxpool1d", "maxpool2d",
            "avgpool", "avgpool1d", "avgpool2d", "adaptiveavgpool", "globalavgpool", "upsample", "upsamplebilinear",
            "flatten", "batchnorm", "batchnorm1d", "batchnorm2d", "layernorm", "groupnorm", "instancenorm", "instancenorm1d",
            "instancenorm2d", "rmsnorm", "dropout", "residual", "resnet",
            "encoder", "lstm", "bilstm", "gru", "bigru", "relu", "sigmoid", "tanh", "leakyrelu", "gelu", "softplus", "identity", "silu",
        ])
        #expect(Set(ModelSpec.tokenNames).count == ModelSpec.tokenNames.count)
        #expect(ModelSpec.usage == "linear(k) mlp(m1,m2,...) conv1d(c,k) conv2d(c,k,stride=s,padding=p) convtranspose1d(c,k,stride=s) "
            + "convtranspose2d(c,k,stride=s) maxpool(k) avgpool(k) adaptiveavgpool(h[,w]) globalavgpool upsample(s) upsamplebilinear(s) flatten "
            + "batchnorm layernorm groupnorm(g) instancenorm rmsnorm dropout(p) residual(h) resnet(w,n) encoder(h,ff) lstm(h,layers=n,dropout=p) gru(h,layers=n,dropout=p) relu sigmoid tanh leakyrelu(slope) gelu softplus(beta) identity silu")
    }

    @Test func everyLayerASpecBuildsSummarisesItself() throws {
        let specs: [(String, [Int])] = [
            ("conv2d(4,3) batchnorm relu maxpool(2) avgpool(1) groupnorm(2) flatten layernorm dropout residual resnet(8,1) leakyrelu softplus", [1, 8, 8]),
            ("conv1d(4,3) batchnorm1d maxpool1d(2) avgpool1d(1) flatten mlp(6) sigmoid tanh gelu identity silu", [2, 8]),
            ("maxpool2d(2) avgpool2d(1) batchnorm2d", [2, 4, 4]),
            ("encoder(2) encoder(4,8) flatten", [5, 8]),
            ("lstm(4) bigru(3,layers=2) bilstm(2,layers=2,dropout=0.1) gru(5) flatten", [5, 8]),
        ]
        for (text, shape) in specs {
            let model = try ModelSpec.parse(text).build(inputShape: shape, outputSize: 3)
            for layer in model.layers {
                #expect(layer is any SummarizableLayer, "\(type(of: layer)) from \(text) has no summary line")
            }
        }
    }

    // MARK: Errors point at the token

    @Test func unknownTokenSuggestsTheNearestName() {
        let e = expectParseError("conv2d(32,3) relu lineer(10)", under: "lineer",
                                 saying: "unknown layer \"lineer\"; did you mean linear?")
        #expect(e?.hint?.contains("conv1d(c,k)") == true)

        expectParseError("maxpooling(2)", under: "maxpooling", saying: "did you mean maxpool?")
        expectParseError("dense(64) relu", under: "dense", saying: "did you mean linear?")
        let e4 = expectParseError("linear(4) xyzzyq", under: "xyzzyq", saying: "unknown layer")
        #expect(e4?.message.contains("did you mean") == false)
    }

    @Test(arguments: [
        // (spec, token under the carets, message fragment)
        // wrong argument count: the carets sit under the whole token
        ("linear(64,3) relu", "linear(64,3)", "linear takes 1 argument, got 2"),
        ("relu conv2d(32)", "conv2d(32)", "missing its kernel argument"),
        ("linear(8) relu(2)", "relu(2)", "relu takes no arguments"),
        ("mlp() relu", "mlp()", "at least one hidden size"),
        // bad argument values: the carets sit under the argument
        ("mlp(512,-3)", "-3", "negative size"),
        ("linear(abc)", "abc", "must be an integer"),
        ("linear(2.5)", "2.5", "whole number"),
        ("linear(8) dropout(1.5)", "1.5", "must be in [0, 1]"),
        ("conv2d(32,3,strde=2)", "strde=2", "did you mean stride?"),
        ("conv2d(32,0)", "0", "must be positive"),
        ("conv1d(16,4)", "conv1d(16,4)", "odd kernel"),
        ("maxpool(2,padding=3)", "padding=3", "at most half the window"),
        ("softplus(0)", "0", "must be positive"),
    ])
    func badArgumentsPointAtTheirToken(_ spec: String, token: String, fragment: String) {
        expectParseError(spec, under: token, saying: fragment)
    }

    @Test func syntaxErrorsPointAtTheCharacter() {
        expectParseError("linear(64), relu", under: ",", saying: "separate layers with spaces")
        expectParseError("relu linear(64", under: "linear(64", saying: "never closed")
        expectParseError("relu (64)", under: "(", saying: "expected a layer name")
        let e = specError { _ = try ModelSpec.parse("   ") }
        #expect(e?.message == "the model spec is empty" && e?.range == nil)
    }

    @Test func shapeProblemsPointAtTheToken() {
        let spec = "flatten conv2d(32,3) relu"
        let e = specError { _ = try ModelSpec.parse(spec).build(inputShape: [1, 28, 28], outputSize: 10) }
        expectCaret(e, under: "conv2d(32,3)", in: spec, saying: "conv2d needs a [C, H, W] input but the running shape is [784]")

        let spec2 = "conv2d(32,3) relu linear(10)"
        let e2 = specError { _ = try ModelSpec.parse(spec2).build(inputShape: [1, 28, 28], outputSize: 10) }
        expectCaret(e2, under: "linear(10)", in: spec2, saying: "linear needs a [features] input but the running shape is [32, 26, 26]")
        #expect(e2?.hint?.contains("flatten") == true)

        let spec3 = "conv2d(8,3)"
        let e3 = specError { _ = try ModelSpec.parse(spec3).build(inputShape: [28, 28], outputSize: nil) }
        expectCaret(e3, under: "conv2d(8,3)", in: spec3, saying: "running shape is [28, 28]")
        #expect(e3?.hint?.contains("[1, 28, 28]") == true)

        let spec4 = "conv2d(8,3) groupnorm(3)"
        expectCaret(specError { _ = try ModelSpec.parse(spec4).build(inputShape: [1, 5, 5], outputSize: nil) },
                    under: "groupnorm(3)", in: spec4, saying: "don't split into 3 groups")

        let spec5 = "conv2d(8,3) maxpool(2) conv2d(8,5)"
        expectCaret(specError { _ = try ModelSpec.parse(spec5).build(inputShape: [1, 8, 8], outputSize: nil) },
                    under: "conv2d(8,5)", in: spec5, saying: "larger than the padded input")

        let spec6 = "linear(4) maxpool(2)"
        expectCaret(specError { _ = try ModelSpec.parse(spec6).build(inputShape: [8], outputSize: nil) },
                    under: "maxpool(2)", in: spec6, saying: "[C, L] or [C, H, W]")

        let spec7 = "conv1d(4,3) batchnorm2d"
        expectCaret(specError { _ = try ModelSpec.parse(spec7).build(inputShape: [2, 10], outputSize: nil) },
                    under: "batchnorm2d", in: spec7, saying: "batchnorm2d needs a [C, H, W] input")

        let bad = specError { _ = try ModelSpec.parse("mlp(8)").build(inputShape: [0, 3], outputSize: 2) }
        #expect(bad?.message.contains("input shape") == true && bad?.range == nil)
    }

    @Test func errorDescriptionLayout() {
        let e = specError { _ = try ModelSpec.parse("relu lineer(10)") }
        #expect(e?.description == """
            model spec: unknown layer "lineer"; did you mean linear?
              relu lineer(10)
                   ^^^^^^
              hint: known layers: \(ModelSpec.usage)
            """)
    }
}

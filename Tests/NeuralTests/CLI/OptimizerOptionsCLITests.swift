import Foundation
import Neural
import Testing

/// `neural train`'s optimizer options: the new optimizers and schedules, parameter groups,
/// clipping, and exact resumption of the plateau schedule.
@Suite("neural train: optimizers, schedules, groups and clipping", .serialized,
       .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct OptimizerOptionsCLITests {
    private func expectCleanFailure(_ args: [String], mentions: String, in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try NeuralTool.run(args, in: dir)
        #expect(r.status == 1, "exit status \(r.status) for \(args)", sourceLocation: sourceLocation)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("neural: ") && first.contains(mentions), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
    }

    @Test func newOptimizersSchedulesGroupsAndClippingTrain() throws {
        let dir = try NeuralTool.temporaryDirectory()
        for (optimizer, schedule) in [("radam", "onecycle pct_start=0.2 anneal_strategy=linear"), ("nadam", "multistep milestones=1 gamma=0.5"),
                                      ("adagrad", "cosine-restarts T_0=1 T_mult=2 eta_min=0.001"), ("adamw-amsgrad", "constant")] {
            let r = try NeuralTool.run(["train", "--optimizer", optimizer, "--schedule", schedule, "--no-decay-norms-and-biases",
                                        "--weight-decay", "0.05", "--clip-value", "1", "--clip-norm", "5", "--epochs", "2", "--quiet"], in: dir)
            #expect(r.status == 0, "\(optimizer) with \(schedule): \(r.stderr)")
            #expect(r.stdout.contains("done: 2 epochs"), "\(r.stdout)")
        }
        for loss in ["l1", "smooth-l1", "huber"] {
            let r = try NeuralTool.run(["train", "--data", "house", "--loss", loss, "--epochs", "1", "--quiet"], in: dir)
            #expect(r.status == 0, "\(loss): \(r.stderr)")
        }
    }

    @Test func plateauScheduleResumesWithTheSameBits() throws {
        let dir = try NeuralTool.temporaryDirectory()
        // An improvement must be 100 below the best: after the first epoch none is, so with
        // patience 0 every later epoch halves the rate.
        let common = ["train", "--optimizer", "sgd", "--schedule", "plateau threshold_mode=abs threshold=100 patience=0 factor=0.5", "--quiet"]
        #expect(try NeuralTool.run(common + ["--epochs", "4", "--checkpoint", "straight.safetensors"], in: dir).status == 0)
        #expect(try NeuralTool.run(common + ["--epochs", "2", "--checkpoint", "half.safetensors"], in: dir).status == 0)
        let resumed = try NeuralTool.run(common + ["--epochs", "4", "--resume", "half.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.load(from: dir.appendingPathComponent("straight.safetensors"))
        let b = try Checkpoint.load(from: dir.appendingPathComponent("half.safetensors"))
        #expect(a.tensors.keys.sorted() == b.tensors.keys.sorted())
        for (name, t) in a.tensors { expectBitIdentical(b.tensors[name]!, t) }
        let plateau = try #require(a.trainingState?.plateau)
        #expect(plateau == b.trainingState?.plateau)
        #expect(plateau.evaluations == 4)
        #expect(plateau.learningRates == [0.05 / 8])   // sgd's default rate, halved after epochs 2, 3 and 4
    }

    @Test func badScheduleOptionsAndAChangedGroupingAreReported() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try expectCleanFailure(["train", "--schedule", "multistep"], mentions: "--schedule multistep needs milestones=", in: dir)
        try expectCleanFailure(["train", "--schedule", "onecycle foo=1"], mentions: "--schedule onecycle: unknown option foo", in: dir)
        try expectCleanFailure(["train", "--schedule", "plateau factor=x"], mentions: "--schedule plateau: factor=x is not a number", in: dir)
        try expectCleanFailure(["train", "--schedule", "plateau factor"], mentions: "option 'factor' is not key=value", in: dir)
        try expectCleanFailure(["train", "--clip-value", "0"], mentions: "--clip-value must be a positive number", in: dir)
        #expect(try NeuralTool.run(["train", "--epochs", "1", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        try expectCleanFailure(["train", "--epochs", "2", "--no-decay-norms-and-biases", "--resume", "c.safetensors"],
                               mentions: "the run was started with --no-decay-norms-and-biases off, not on", in: dir)
    }
}

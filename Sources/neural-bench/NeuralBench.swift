import ArgumentParser
import Neural

/// `neural-bench CASE --threads N [--quick]`: Neural's side of the peer benchmarks
/// (../shared/peers). Every case prints `RESULT bench=… lib=neural …` lines in the format of the
/// peers' `common.py`, so `run_all.py --extra` and `make_table.py` can tabulate them.
///
/// Adding a case: write a `ParsableCommand` in its own file (`@OptionGroup var options:
/// BenchOptions`, call `options.apply()` first in `run()`, then `Bench.run…`/`Bench.report`),
/// and list it in `subcommands` below.
@main
struct NeuralBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural-bench",
        abstract: "Benchmarks of Neural, in the protocol of the peer benchmarks.",
        subcommands: [
            SGEMMBench.self,
            AutodiffBench.self,
            ConvBench.self,
            MLPBench.self,
            CNNBench.self,
            LayerNormBench.self,
            RecurrentBench.self,
            ElementwiseBench.self,
            RSSBench.self,
            DataParallelBench.self,
            AttentionBench.self,
            TensorOpsBench.self,
            BertBench.self,
            GPTBench.self,
            // Add new cases here, one file per case.
        ])
}

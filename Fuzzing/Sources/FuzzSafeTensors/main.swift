import FuzzDriver
import Foundation
import Neural

// safetensors files, then read as checkpoints (metadata: optimizer, generator, sampler and
// training state, preprocessing).
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    do {
        let file = try SafeTensors.decode(data, file: "fuzz.safetensors")
        var checkpoint = try Checkpoint(file, file: "fuzz.safetensors")
        checkpoint.source = URL(fileURLWithPath: "/fuzz/fuzz.safetensors")
        _ = try checkpoint.preprocessing()
    } catch {
        expectNamesFile(error, "fuzz.safetensors")
    }
    return 0
}

import FuzzDriver
import Foundation
import Neural

// safetensors files, then read as checkpoints (metadata: optimizer, generator, sampler state).
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    do {
        let file = try SafeTensors.decode(data, file: "fuzz.safetensors")
        _ = try Checkpoint(file, file: "fuzz.safetensors")
    } catch {
        expectNamesFile(error, "fuzz.safetensors")
    }
    return 0
}

import FuzzDriver
import Foundation
import Neural

// .npy files, decoded and (when valid) encoded again: the round trip must give the same bytes'
// worth of elements.
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    do {
        let t = try NPY.decode(data, file: "fuzz.npy")
        let back = try NPY.decode(NPY.encode(t), file: "fuzz-again.npy")
        if back.shape != t.shape { fatalError("round trip changed shape \(t.shape) to \(back.shape)") }
    } catch {
        expectNamesFile(error, "fuzz")
    }
    return 0
}

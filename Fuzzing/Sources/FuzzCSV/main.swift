import FuzzDriver
import Foundation
import Neural

// CSV files: parsed into a table, then turned into a dataset (last column the target) and, when
// that works, the encoding is re-applied as for a new file.
runFuzzer { bytes, count in
    let data = fuzzData(bytes, count)
    do {
        let table = try CSVTable.decode(data, path: "fuzz.csv")
        let set = try CSVDataset.load(table: table)
        _ = set.summary
        _ = try set.encoding.encode(table, dtype: .float64)
    } catch {
        expectNamesFile(error, "fuzz.csv")
    }
    return 0
}

import Foundation
import Neural

/// Reference values computed once with PyTorch by `Scripts/fixtures/*.py` and committed as JSON
/// under `Tests/NeuralTests/Fixtures/`, so the tests never need torch.
///
/// File format: `{"cases": [{"name": "...", "config": {...}, "tensors": {"x": {"shape": [...],
/// "data": [...]}, ...}}]}`, data flattened row-major as Float64.
struct TorchFixture {
    struct Case {
        let name: String
        let config: [String: Any]
        let tensors: [String: Tensor]

        /// A tensor of this case (Float64), e.g. `"x"`, `"weight"`, `"out"`, `"grad_x"`.
        func tensor(_ key: String) -> Tensor {
            guard let t = tensors[key] else { fatalError("fixture case \(name) has no tensor \(key); has \(tensors.keys.sorted())") }
            return t
        }

        /// A config value as Int/Double/Bool/String/[Int].
        func int(_ key: String) -> Int { (config[key] as? NSNumber)?.intValue ?? 0 }
        func double(_ key: String) -> Double { (config[key] as? NSNumber)?.doubleValue ?? 0 }
        func bool(_ key: String) -> Bool { (config[key] as? Bool) ?? ((config[key] as? NSNumber)?.boolValue ?? false) }
        func string(_ key: String) -> String { (config[key] as? String) ?? "" }
        func ints(_ key: String) -> [Int] { (config[key] as? [NSNumber])?.map(\.intValue) ?? [] }
    }

    let cases: [Case]

    /// Loads `Tests/NeuralTests/Fixtures/<name>.json`.
    static func load(_ name: String) -> TorchFixture {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        let url = dir.appendingPathComponent(name + ".json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else {
            fatalError("cannot read fixture \(url.path); regenerate it with Scripts/fixtures/")
        }
        return TorchFixture(cases: cases.map { c in
            var tensors: [String: Tensor] = [:]
            for (k, v) in (c["tensors"] as? [String: [String: Any]]) ?? [:] {
                let shape = (v["shape"] as? [NSNumber])?.map(\.intValue) ?? []
                let values = (v["data"] as? [NSNumber])?.map(\.doubleValue) ?? []
                tensors[k] = Tensor(values, shape: shape, dtype: .float64)
            }
            return Case(name: c["name"] as? String ?? "?", config: c["config"] as? [String: Any] ?? [:], tensors: tensors)
        })
    }

    /// The case named `name`.
    func `case`(_ name: String) -> Case {
        guard let c = cases.first(where: { $0.name == name }) else { fatalError("no fixture case \(name)") }
        return c
    }
}

/// Largest |a − b| over all elements (shapes must match).
func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
    return zip(a.scalars(as: Double.self), b.scalars(as: Double.self)).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}

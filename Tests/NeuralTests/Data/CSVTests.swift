import Foundation
import Neural
import Testing

/// Writes `text` to a temporary file called `name` and returns its path.
private func csvFile(_ text: String, name: String = "table.csv") -> String {
    let dir = makeTemporaryDirectory()
    writeFile(Array(text.utf8), dir, name)
    return dir + "/" + name
}

struct CSVTests {
    @Test func parsesQuotesCommasAndLineEnds() throws {
        let text = "name,\"size, m²\",note\r\n\"Smith, J.\",1.5,\"said \"\"hi\"\"\"\r\n\nplain,2,\"two\nlines\"\nlast,3,"
        let t = try CSVTable(text: text, path: "q.csv")
        #expect(t.header == ["name", "size, m²", "note"])
        #expect(t.rows == [["Smith, J.", "1.5", "said \"hi\""], ["plain", "2", "two\nlines"], ["last", "3", ""]])
        #expect(t.lines == [2, 4, 6])
    }

    @Test func malformedTablesAreReported() {
        expectDataError(["ragged.csv line 3: has 2 fields but the header has 3"]) {
            _ = try CSVTable(text: "a,b,c\n1,2,3\n4,5\n", path: "/x/ragged.csv")
        }
        expectDataError(["open.csv line 2: a quoted field is never closed"]) { _ = try CSVTable(text: "a,b\n\"1,2\n", path: "open.csv") }
        expectDataError(["empty.csv", "header"]) { _ = try CSVTable(text: "", path: "empty.csv") }
        expectDataError(["missing.csv", "no such file"], kind: .missingFile) { _ = try CSVTable.read(path: "/nonexistent/missing.csv") }
    }

    @Test func nonNumericCellNamesLineAndColumn() {
        var lines = ["longitude,total_rooms,price"]
        for i in 0..<8 { lines.append("\(i),\(i == 5 ? "abc" : String(100 + i)),\(i * 10)") }
        let path = csvFile(lines.joined(separator: "\n") + "\n", name: "housing.csv")
        expectDataError(["housing.csv line 7, column total_rooms: 'abc' is not a number"], kind: .badValue) {
            _ = try CSVDataset.load(path: path)
        }
        expectDataError(["housing.csv", "no column 'price_usd'", "longitude, total_rooms, price"]) {
            _ = try CSVDataset.load(path: path, target: "price_usd")
        }
        let blankTarget = csvFile("x,y\n1,2\n3,\n")
        expectDataError(["table.csv line 3, column y", "target is blank"]) { _ = try CSVDataset.load(path: blankTarget) }
    }

    @Test func oneHotImputationAndTargets() throws {
        let text = """
            size,kind,rooms,price
            1.0,b,2,10
            2.0,a,,20
            3.0,"c, quoted",4,30
            4.0,a,5,40
            """
        let data = try CSVDataset.load(table: CSVTable(text: text), dtype: .float64)
        #expect(data.targetName == "price")
        #expect(data.featureNames == ["size", "kind=a", "kind=b", "kind=c, quoted", "rooms"])
        #expect(data.encoding.numericMask == [true, false, false, false, true])
        #expect(data.imputed == ["rooms": 1])
        #expect(data.dataset.inputs.scalars(as: Double.self) == [1, 0, 1, 0, 2,  2, 1, 0, 0, 4,  3, 0, 0, 1, 4,  4, 1, 0, 0, 5])
        #expect(data.dataset.targetValues!.scalars(as: Double.self) == [10, 20, 30, 40])

        // A text target makes classes (sorted); chosen features only.
        let classes = try CSVDataset.load(table: CSVTable(text: text), target: "kind", features: ["price", "size"])
        #expect(classes.targetCategories == ["a", "b", "c, quoted"])
        #expect(classes.dataset.labels == [1, 0, 2, 0])
        #expect(classes.featureNames == ["price", "size"])

        // The encoding applies to new rows; unknown categories are named.
        let new = try CSVTable(text: "size,kind,rooms\n5,b,\n6,z,1\n", path: "new.csv")
        expectDataError(["new.csv line 3, column kind: unknown category 'z'"]) { _ = try data.encoding.encode(new) }
        let first = try data.encoding.encode(CSVTable(text: "size,kind,rooms\n5,b,\n"), dtype: .float64)
        #expect(first.scalars(as: Double.self) == [5, 0, 1, 0, 4])
    }

    @Test(.enabled(if: sharedDataDirectory("housing") != nil, "../shared/data/housing not found: housing test skipped"))
    func loadsCaliforniaHousing() throws {
        let path = sharedDataDirectory("housing")! + "/housing.csv"
        let housing = try CSVDataset.load(path: path, target: "median_house_value")
        #expect(housing.dataset.count == 20640)
        #expect(housing.dataset.inputs.shape == [20640, 13])          // 8 numeric + 5 one-hot
        #expect(housing.imputed == ["total_bedrooms": 207])
        #expect(housing.featureNames.suffix(5) == ["ocean_proximity=<1H OCEAN", "ocean_proximity=INLAND", "ocean_proximity=ISLAND",
                                                   "ocean_proximity=NEAR BAY", "ocean_proximity=NEAR OCEAN"])
        let x = housing.dataset.inputs.scalars(as: Double.self)
        let oneHot = (0..<5).map { k in (0..<20640).reduce(0.0) { $0 + x[$1 * 13 + 8 + k] } }
        #expect(oneHot == [9136, 6551, 5, 2290, 2658])
        let y = housing.dataset.targetValues!.scalars(as: Double.self)
        #expect(y.max() == 500001 && y.count == 20640)
        #expect(housing.summary.contains("total_bedrooms 207"))

        // Default target: the last column, here a text column, so a 5-class problem.
        let byDefault = try CSVDataset.load(path: path)
        #expect(byDefault.targetName == "ocean_proximity" && byDefault.dataset.classCount == 5)

        // Standardised splits: statistics from the training rows; targets convert back to dollars.
        let splits = DatasetSplits(housing.dataset, fractions: [0.8, 0.1, 0.1], generator: RandomGenerator(seed: 1),
                                   inputColumns: housing.encoding.numericMask)
        #expect(splits.train.count == 16512 && splits.validation!.count == 2064 && splits.test.count == 2064)
        let scaler = splits.targetScaler!
        let back = scaler.inverse(splits.test.targetValues!).scalars(as: Double.self)
        #expect(back.allSatisfy { $0 >= 14999 && $0 <= 500001.1 })
        #expect(splits.inputScaler!.std[8...].allSatisfy { $0 == 1 } && splits.inputScaler!.mean[8...].allSatisfy { $0 == 0 })
    }
}

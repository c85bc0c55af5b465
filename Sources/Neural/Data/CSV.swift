import Foundation

/// A CSV file's cells as text: a header row of column names and the data rows (RFC 4180: fields
/// separated by commas, optionally in double quotes, which may hold commas, newlines and `""` for
/// a quote; LF or CRLF line ends; blank lines skipped).
///
/// ```swift
/// let table = try CSVTable.read(path: "../shared/data/housing/housing.csv")
/// table.header      // ["longitude", "latitude", …, "ocean_proximity"]
/// table.rows[0][9]  // "NEAR BAY"
/// ```
public struct CSVTable: Sendable {
    /// The file the table came from (used in error messages).
    package let path: String
    /// The column names (the first row).
    package let header: [String]
    /// The data rows, each with `header.count` cells.
    package let rows: [[String]]
    /// The 1-based line of the file on which each data row starts (the header is line 1).
    package let lines: [Int]
    /// The size of the parsed text in bytes (bounds the memory encoding may use).
    let textByteCount: Int
    /// Each column name's first index in ``header`` (lookups stay O(1) with many columns).
    let columnIndex: [String: Int]

    /// Reads and parses the CSV file at `path`.
    ///
    /// - Throws: ``DataError`` when the file is missing, not UTF-8, empty, has an unclosed quote
    ///   or a row whose number of fields differs from the header's.
    package static func read(path: String) throws -> CSVTable {
        try decode(DataError.readFile(path), path: path)
    }

    /// Parses the bytes of a CSV file (UTF-8, an optional byte-order mark); `path` names it in
    /// error messages.
    ///
    /// - Throws: ``DataError`` as `read(path:)`.
    public static func decode(_ data: Data, path: String = "<csv>") throws -> CSVTable {
        guard let text = String(data: data, encoding: .utf8) else {
            let bad = firstInvalidUTF8Offset(data)
            throw DataError(.badValue, path: path,
                            "is not UTF-8 text (invalid byte 0x\(String(format: "%02x", data[data.startIndex + bad])) at offset \(bad)); save it as UTF-8")
        }
        return try CSVTable(text: text, path: path)
    }

    /// The offset of the first byte that is not part of a valid UTF-8 sequence (0 when none is found).
    static func firstInvalidUTF8Offset(_ data: Data) -> Int {
        var decoder = UTF8(), it = data.makeIterator(), offset = 0, start = 0
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let u): offset += UTF8.width(u); start = offset
            case .emptyInput: return 0
            case .error: return Swift.min(start, data.count - 1)
            }
        }
    }

    /// Parses CSV `text`; `path` names it in error messages.
    package init(text: String, path: String = "<csv>") throws {
        self.path = path
        var records: [[String]] = [], starts: [Int] = []
        var fields: [String] = [], field: [UInt8] = []
        var inQuotes = false, quotedField = false, line = 1, recordStart = 1
        var bytes = Array(text.utf8)
        textByteCount = bytes.count
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }   // UTF-8 byte-order mark
        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedField = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {   // skip blank lines
                records.append(fields)
                starts.append(recordStart)
            }
            fields.removeAll(keepingCapacity: true)
        }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { field.append(c); i += 1 }
                    else { inQuotes = false }
                } else {
                    if c == UInt8(ascii: "\n") { line += 1 }
                    field.append(c)
                }
            } else {
                switch c {
                case UInt8(ascii: ","): endField()
                case UInt8(ascii: "\n"):
                    endRecord()
                    line += 1
                    recordStart = line
                case UInt8(ascii: "\r") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n"):
                    break
                case UInt8(ascii: "\"") where field.allSatisfy({ $0 == UInt8(ascii: " ") }) && !quotedField:
                    field.removeAll()
                    inQuotes = true
                    quotedField = true
                default: field.append(c)
                }
            }
            i += 1
        }
        if inQuotes {
            throw DataError(.badValue, path: path, line: recordStart, "a quoted field is never closed (missing \")")
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let header = records.first else {
            throw DataError(.badHeader, path: path, "is empty; expected a header row of column names")
        }
        self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for (j, name) in self.header.enumerated().reversed() { index[name] = j }
        self.columnIndex = index
        for (k, r) in records.enumerated().dropFirst() where r.count != header.count {
            throw DataError(.badHeader, path: path,
                            line: starts[k], "has \(r.count) fields but the header has \(header.count) (a comma inside an unquoted field?)")
        }
        self.rows = Array(records.dropFirst())
        self.lines = Array(starts.dropFirst())
    }

    /// The index of the column called `name`.
    ///
    /// - Throws: ``DataError`` listing the available columns when there is none.
    package func column(_ name: String) throws -> Int {
        guard let j = columnIndex[name] else {
            throw DataError(.badHeader, path: path,
                            "no column '\(name)'; the columns are \(header.prefix(30).joined(separator: ", "))"
                            + (header.count > 30 ? ", … (\(header.count) in all)" : ""))
        }
        return j
    }
}

/// How the columns of a CSV file become a feature matrix: which columns, numeric or one-hot, and
/// the values that fill blank numeric cells. Saved with a model, it encodes new files the same way.
public struct CSVEncoding: Sendable, Codable, Equatable {
    /// One source column.
    package struct Column: Sendable, Codable, Equatable {
        /// The column's name in the header.
        package var name: String
        /// The sorted categories of a one-hot column (one feature each); nil for a numeric column.
        package var categories: [String]?
        /// The value that replaces a blank numeric cell (the column's median in the training file).
        package var fill: Double
    }

    /// The feature columns, in feature order.
    package var columns: [Column]

    /// The largest feature matrix (elements) ``encode(_:dtype:)`` builds regardless of the file's
    /// size; beyond it, at most 16 elements per byte of the file.
    static let minimumElementLimit = 1 << 24

    /// The feature names: a numeric column's name, or `column=category` per one-hot feature.
    package var featureNames: [String] {
        columns.flatMap { c in c.categories.map { $0.map { "\(c.name)=\($0)" } } ?? [c.name] }
    }

    /// Whether each feature is numeric (true) or a one-hot indicator (false).
    package var numericMask: [Bool] {
        columns.flatMap { c in c.categories.map { Array(repeating: false, count: $0.count) } ?? [true] }
    }

    /// The features `[rows, d]` of `table` (which must have these columns; others are ignored).
    ///
    /// - Throws: ``DataError`` naming the line and column of a non-numeric cell in a numeric column,
    ///   or of a category not seen when the encoding was made.
    public func encode(_ table: CSVTable, dtype: DType = .float32) throws -> Tensor {
        let d = featureNames.count, n = table.rows.count
        // One-hot columns multiply a file's size: bound the matrix by it before allocating.
        let (elements, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow || elements > Swift.max(CSVEncoding.minimumElementLimit, 16 * table.textByteCount) {
            let widest = columns.max { ($0.categories?.count ?? 1) < ($1.categories?.count ?? 1) }
            throw DataError(.unsupported, path: table.path, column: widest?.name,
                            "the features would be a [\(n), \(d)] matrix, too large for a \(table.textByteCount)-byte file: "
                            + "column \(widest?.name ?? "?") has \(widest?.categories?.count ?? 1) distinct values to one-hot encode "
                            + "(an identifier or free text?); leave it out of the features")
        }
        var values = [Double](repeating: 0, count: n * d)
        var offset = 0
        for c in columns {
            let j = try table.column(c.name)
            if let categories = c.categories {
                let index = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
                for r in 0..<n {
                    let cell = table.rows[r][j].trimmingCharacters(in: .whitespaces)
                    guard let k = index[cell] else {
                        throw DataError(.badValue, path: table.path, line: table.lines[r], column: c.name,
                                        "unknown category '\(cell)' (known: \(categories.prefix(30).joined(separator: ", "))"
                                        + (categories.count > 30 ? ", … (\(categories.count) in all))" : ")"))
                    }
                    values[r * d + offset + k] = 1
                }
                offset += categories.count
            } else {
                for r in 0..<n {
                    let cell = table.rows[r][j].trimmingCharacters(in: .whitespaces)
                    if cell.isEmpty { values[r * d + offset] = c.fill; continue }
                    guard let v = Double(cell), v.isFinite else {
                        throw DataError(.badValue, path: table.path, line: table.lines[r], column: c.name,
                                        CSVDataset.notANumber(cell))
                    }
                    values[r * d + offset] = v
                }
                offset += 1
            }
        }
        return Tensor(values, shape: [n, d], dtype: dtype)
    }
}

/// A CSV file as a dataset: one target column and feature columns, with categorical (text)
/// columns one-hot encoded (categories sorted) and blank numeric cells filled with the column's
/// median. Features and targets are left in their original units; standardise them with
/// the CLI's dataset splits (statistics from the training split only).
///
/// A numeric target makes a regression dataset (targets `[n, 1]`); a text target makes a
/// classification dataset with the sorted categories as classes.
///
/// ```swift
/// let housing = try CSVDataset.load(path: "../shared/data/housing/housing.csv", target: "median_house_value")
/// housing.dataset.inputs.shape   // [20640, 13]: 8 numeric + 5 one-hot ocean_proximity
/// housing.imputed                // ["total_bedrooms": 207]
/// ```
public struct CSVDataset: Sendable {
    /// Inputs `[n, d]` (numeric columns in original units, one-hot columns 0/1) and targets.
    public let dataset: TensorDataset
    /// The target column's name.
    public let targetName: String
    /// The sorted categories of a text target (the class names); nil for a numeric target.
    public let targetCategories: [String]?
    /// How the feature columns were encoded (apply it to new files with ``CSVEncoding/encode(_:dtype:)``).
    public let encoding: CSVEncoding
    /// Blank cells filled with the median, per numeric column that had any.
    package let imputed: [String: Int]

    /// The feature names, `column` or `column=category` (d names).
    public var featureNames: [String] { encoding.featureNames }

    /// Loads a CSV file with a header row.
    ///
    /// - Parameters:
    ///   - path: the file.
    ///   - target: the target column (default: the last column).
    ///   - features: the feature columns (default: all other columns, in file order).
    ///   - categorical: columns to one-hot encode even though they look numeric; other columns are
    ///     one-hot encoded when most of their non-blank cells are not numbers.
    ///   - dtype: the element type of inputs and targets (default Float32).
    /// - Throws: ``DataError`` for a missing file, an unknown column, a non-numeric cell in a numeric
    ///   column (naming its line and column), a blank target or a column with no numbers at all.
    public static func load(path: String, target: String? = nil, features: [String]? = nil,
                            categorical: [String] = [], dtype: DType = .float32) throws -> CSVDataset {
        try load(table: CSVTable.read(path: path), target: target, features: features, categorical: categorical, dtype: dtype)
    }

    /// ``load(path:target:features:categorical:dtype:)`` for a table already read.
    public static func load(table: CSVTable, target: String? = nil, features: [String]? = nil,
                            categorical: [String] = [], dtype: DType = .float32) throws -> CSVDataset {
        guard !table.rows.isEmpty else {
            throw DataError(.badHeader, path: table.path, "has a header but no data rows")
        }
        let targetName = target ?? table.header.last!
        let targetColumn = try table.column(targetName)
        let featureNames = features ?? table.header.filter { $0 != targetName }
        guard !featureNames.isEmpty else {
            throw DataError(.badHeader, path: table.path, "no feature columns besides the target '\(targetName)'")
        }
        if featureNames.contains(targetName) {
            throw DataError(.badHeader, path: table.path, "column '\(targetName)' is both the target and a feature")
        }
        var columns: [CSVEncoding.Column] = [], imputed: [String: Int] = [:]
        for name in featureNames {
            let j = try table.column(name)
            let cells = table.rows.map { $0[j].trimmingCharacters(in: .whitespaces) }
            if categorical.contains(name) || isText(cells) {
                columns.append(.init(name: name, categories: Array(Set(cells)).sorted(), fill: 0))
            } else {
                var numbers: [Double] = [], blanks = 0
                for (r, cell) in cells.enumerated() {
                    if cell.isEmpty { blanks += 1; continue }
                    guard let v = Double(cell), v.isFinite else {
                        throw DataError(.badValue, path: table.path, line: table.lines[r], column: name,
                                        notANumber(cell))
                    }
                    numbers.append(v)
                }
                guard !numbers.isEmpty else {
                    throw DataError(.badValue, path: table.path, "column \(name) is blank in every row")
                }
                if blanks > 0 { imputed[name] = blanks }
                columns.append(.init(name: name, categories: nil, fill: median(numbers)))
            }
        }
        let encoding = CSVEncoding(columns: columns)
        let x = try encoding.encode(table, dtype: dtype)

        let targetCells = table.rows.map { $0[targetColumn].trimmingCharacters(in: .whitespaces) }
        if let r = targetCells.firstIndex(where: \.isEmpty) {
            throw DataError(.badValue, path: table.path, line: table.lines[r], column: targetName,
                            "the target is blank (remove the row or pick another --target)")
        }
        if categorical.contains(targetName) || isText(targetCells) {
            let classes = Array(Set(targetCells)).sorted()
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            return CSVDataset(dataset: TensorDataset(inputs: x, labels: targetCells.map { index[$0]! }, classCount: classes.count),
                              targetName: targetName, targetCategories: classes, encoding: encoding, imputed: imputed)
        }
        var y: [Double] = []
        y.reserveCapacity(targetCells.count)
        for (r, cell) in targetCells.enumerated() {
            guard let v = Double(cell), v.isFinite else {
                throw DataError(.badValue, path: table.path, line: table.lines[r], column: targetName,
                                notANumber(cell))
            }
            y.append(v)
        }
        return CSVDataset(dataset: TensorDataset(inputs: x, targets: Tensor(y, shape: [y.count, 1], dtype: dtype)),
                          targetName: targetName, targetCategories: nil, encoding: encoding, imputed: imputed)
    }

    /// One line describing the columns, e.g. `20640 rows, 13 features (ocean_proximity one-hot: 5
    /// categories); target median_house_value; blank cells filled with the median: total_bedrooms 207`.
    public var summary: String {
        var s = "\(dataset.count) rows, \(featureNames.count) features"
        let oneHot = encoding.columns.compactMap { c in c.categories.map { "\(c.name) one-hot: \($0.count) categories" } }
        if !oneHot.isEmpty { s += " (\(oneHot.joined(separator: ", ")))" }
        s += "; target \(targetName)"
        if let targetCategories { s += " (\(targetCategories.count) classes)" }
        if !imputed.isEmpty {
            s += "; blank cells filled with the median: "
                + imputed.keys.sorted().map { "\($0) \(imputed[$0]!)" }.joined(separator: ", ")
        }
        return s
    }

    /// The complaint about a cell in a numeric column that is not a finite number.
    static func notANumber(_ cell: String) -> String {
        var shown = cell.count > 40 ? String(cell.prefix(40)) + "…" : cell
        shown = shown.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
        return Double(cell) == nil ? "'\(shown)' is not a number"
            : "'\(shown)' is not a finite number (leave the cell blank to fill it with the column's median)"
    }

    /// Whether a column is text: most of its non-blank cells are not numbers.
    static func isText(_ cells: [String]) -> Bool {
        var numbers = 0, text = 0
        for cell in cells where !cell.isEmpty {
            if Double(cell) != nil { numbers += 1 } else { text += 1 }
        }
        return text > numbers
    }

    /// The median (mean of the two middle values for an even count).
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
}

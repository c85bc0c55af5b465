/// The command line's names for one kind of choice (losses, optimizers, learning-rate schedules):
/// each entry has one or more names, a one-line help and its value. Lookup ignores case.
///
/// ```swift
/// let entry = Objective.registry.entry(named: "MSE")   // the entry of Objective.mse
/// print(Objective.registry.names)                      // ["cross-entropy", "logistic", "mse", …]
/// ```
package struct Registry<Value>: Sendable where Value: Sendable {
    /// One choice: its names (the first is the canonical one, printed and saved), a one-line help
    /// and its value.
    package struct Entry: Sendable {
        /// The names that select this entry; the first is canonical.
        package let names: [String]
        /// What the choice does, in one line.
        package let help: String
        /// The value the names stand for.
        package let value: Value

        /// An entry selected by `names` (at least one; compared ignoring case).
        package init(_ names: [String], help: String, _ value: Value) {
            precondition(!names.isEmpty, "Neural: a registry entry needs a name")
            self.names = names
            self.help = help
            self.value = value
        }

        /// The canonical name.
        package var name: String { names[0] }
    }

    /// The entries, in the order help lists them.
    package let entries: [Entry]

    /// A registry of `entries`; no name may be shared by two entries (ignoring case).
    package init(_ entries: [Entry]) {
        let all = entries.flatMap { $0.names.map { $0.lowercased() } }
        precondition(Set(all).count == all.count, "Neural: a name appears twice in a registry: \(all)")
        self.entries = entries
    }

    /// The entry one of whose names equals `name` ignoring case, or `nil`.
    package func entry(named name: String) -> Entry? {
        let key = name.lowercased()
        return entries.first { $0.names.contains { $0.lowercased() == key } }
    }

    /// The canonical names, in order.
    package var names: [String] { entries.map(\.name) }

    /// The canonical names as a list for messages: "a, b or c".
    package var nameList: String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    /// One line per entry: its names and its help ("sgd: plain gradient descent").
    package var helpLines: String {
        entries.map { "\($0.names.joined(separator: ", ")): \($0.help)" }.joined(separator: "\n")
    }
}

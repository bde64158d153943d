/// A table under construction. Tables stay mutable (reference type) until the whole document is read,
/// because headers and dotted keys keep adding to tables defined earlier.
final class TableNode {
    /// How the table came to exist; decides whether a later header or dotted key may add to it.
    enum Origin: Equatable {
        /// Created as a parent of a header or dotted key, not yet defined itself.
        case implicit
        /// Defined by a `[header]` or `[[header]]`.
        case header
        /// Defined by dotted keys inside the section with this number.
        case dotted(section: Int)
        /// An inline table `{ ... }` being read.
        case inline
    }

    enum Entry {
        case value(TOMLValue)
        case table(TableNode)
        case arrayOfTables(ArrayOfTablesNode)

        var typeDescription: String {
            switch self {
            case .value(.table): "an inline table (inline tables cannot be extended)"
            case .value(let value): value.typeDescription
            case .table: "a table"
            case .arrayOfTables: "an array of tables"
            }
        }
    }

    var origin: Origin
    /// Nesting depth: the root is 0, each table or array level adds 1.
    let depth: Int
    private(set) var keys: [String] = []
    private(set) var entries: [String: Entry] = [:]
    private(set) var positions: [String: TOMLPosition] = [:]

    init(origin: Origin, depth: Int) {
        self.origin = origin
        self.depth = depth
    }

    subscript(key: String) -> Entry? { entries[key] }

    func position(of key: String) -> TOMLPosition? { positions[key] }

    /// Adds a new key; callers have checked that it is not already present.
    func insert(_ entry: Entry, for key: String, at position: TOMLPosition) {
        if entries.updateValue(entry, forKey: key) == nil { keys.append(key) }
        positions[key] = position
    }

    /// Records a better position for a key (an implicit table that a header now defines).
    func setPosition(_ position: TOMLPosition, for key: String) {
        positions[key] = position
    }

    /// The finished, immutable table. Recursion is bounded by the parser's nesting limit.
    func freeze() -> TOMLTable {
        var table = TOMLTable()
        for key in keys {
            guard let entry = entries[key] else { continue }
            let value: TOMLValue =
                switch entry {
                case .value(let value): value
                case .table(let node): .table(node.freeze())
                case .arrayOfTables(let array): .array(array.tables.map { .table($0.freeze()) })
                }
            table.set(value, for: key, at: positions[key])
        }
        return table
    }
}

/// An array of tables (`[[name]]`); each header appends one table.
final class ArrayOfTablesNode {
    private(set) var tables: [TableNode] = []

    func append(_ table: TableNode) { tables.append(table) }
}

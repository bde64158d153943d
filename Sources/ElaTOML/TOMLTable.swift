/// A TOML table: string keys in document order, each with its value and where it was defined.
///
/// Equality compares keys and values only (not order, not positions): TOML tables are unordered.
public struct TOMLTable: Sendable, Equatable {
    /// Keys in the order they first appeared in the document.
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    private var positions: [String: TOMLPosition] = [:]

    /// An empty table.
    public init() {}

    /// The value for `key`, or nil.
    public subscript(key: String) -> TOMLValue? { values[key] }

    /// Where `key` was defined (its key token, or the header that defined the table), when known.
    public func position(of key: String) -> TOMLPosition? { positions[key] }

    /// Number of keys.
    public var count: Int { keys.count }

    /// True when the table has no keys.
    public var isEmpty: Bool { keys.isEmpty }

    /// Key/value pairs in document order.
    public var entries: [(key: String, value: TOMLValue)] {
        keys.compactMap { key in values[key].map { (key, $0) } }
    }

    /// Sets `value` for `key` (appending the key if new), recording `position` when given.
    public mutating func set(_ value: TOMLValue, for key: String, at position: TOMLPosition? = nil) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
        if let position { positions[key] = position }
    }

    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        lhs.values == rhs.values
    }
}

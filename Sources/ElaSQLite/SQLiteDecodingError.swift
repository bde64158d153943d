/// A column value could not be read as the requested Swift type.
public struct SQLiteDecodingError: Error, CustomStringConvertible, Sendable {
    /// Why the column could not be read.
    public enum Reason: Sendable, Equatable {
        /// The stored value has a storage class the requested type cannot represent.
        case typeMismatch(expected: String, found: SQLiteValue.StorageClass)
        /// The row has no column with that name or index.
        case noSuchColumn
        /// The row was read after its statement stepped on or was reset.
        case rowNoLongerCurrent
    }

    /// Why the column could not be read.
    public var reason: Reason
    /// The column name (for an unknown index: `#<index>`).
    public var column: String
    /// The column's 0-based index, when known.
    public var index: Int?
    /// The SQL of the statement that produced the row.
    public var sql: String

    public var description: String {
        let place = index.map { "column '\(column)' (index \($0))" } ?? "column '\(column)'"
        switch reason {
        case .typeMismatch(let expected, let found):
            // The value itself is left out: it may be a secret.
            return "cannot read \(place) as \(expected): it holds \(found) [SQL: \(sql)]"
        case .noSuchColumn:
            return "no \(place) in the result [SQL: \(sql)]"
        case .rowNoLongerCurrent:
            return "\(place) read after its statement moved on; copy values out inside the row closure [SQL: \(sql)]"
        }
    }
}

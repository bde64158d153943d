/// The current row of a ``SQLiteStatement``: a view, valid until the statement steps on or is reset.
///
/// Read columns by 0-based index or by name, with the type given by context or explicitly:
/// `let id: Int64 = try row[0]`, `try row["name", as: String?.self]`.
public struct SQLiteRow {
    let statement: SQLiteStatement
    let generation: Int

    /// Number of columns.
    public var count: Int { statement.columnCount }

    /// Column names, in order.
    public var columnNames: [String] { statement.columnNames }

    /// The value of the column at `index`, converted to `T`.
    public subscript<T: SQLiteColumnDecodable>(_ index: Int, as type: T.Type = T.self) -> T {
        get throws(SQLiteDecodingError) {
            try decode(T.self, at: index, name: statement.columnName(at: index))
        }
    }

    /// The value of the first column called `name`, converted to `T`.
    public subscript<T: SQLiteColumnDecodable>(_ name: String, as type: T.Type = T.self) -> T {
        get throws(SQLiteDecodingError) {
            guard let index = statement.columnIndex(named: name) else {
                throw SQLiteDecodingError(reason: .noSuchColumn, column: name, index: nil, sql: statement.sql)
            }
            return try decode(T.self, at: index, name: name)
        }
    }

    private func decode<T: SQLiteColumnDecodable>(_: T.Type, at index: Int, name: String) throws(SQLiteDecodingError)
        -> T
    {
        guard generation == statement.generation else {
            throw SQLiteDecodingError(reason: .rowNoLongerCurrent, column: name, index: index, sql: statement.sql)
        }
        guard index >= 0, index < statement.columnCount else {
            throw SQLiteDecodingError(reason: .noSuchColumn, column: name, index: index, sql: statement.sql)
        }
        let value = statement.columnValue(at: Int32(index))
        guard let decoded = T(sqliteValue: value) else {
            throw SQLiteDecodingError(
                reason: .typeMismatch(expected: String(describing: T.self), found: value.storageClass),
                column: name, index: index, sql: statement.sql)
        }
        return decoded
    }
}

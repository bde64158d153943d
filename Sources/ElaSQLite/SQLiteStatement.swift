#if canImport(Glibc)
import Glibc
#endif
internal import CSQLite

/// One prepared SQL statement. Not thread-safe: use it on the thread that uses its connection.
///
/// Parameters are 1-based (`?`, `?NNN`) or named (`:name`, `@name`, `$name`); columns are 0-based.
/// The statement keeps its connection alive and is finalized when released.
public final class SQLiteStatement {
    /// The SQL text this statement was prepared from.
    public let sql: String
    let handle: OpaquePointer
    let connection: SQLiteConnection
    /// Bumped on every step and reset, so a stale ``SQLiteRow`` is detected instead of reading undefined data.
    private(set) var generation = 0
    /// False for a view of a statement in the connection's cache, which finalizes it on close.
    let ownsHandle: Bool

    init(connection: SQLiteConnection, handle: OpaquePointer, sql: String, ownsHandle: Bool = true) {
        self.connection = connection
        self.handle = handle
        self.sql = sql
        self.ownsHandle = ownsHandle
    }

    deinit { if ownsHandle { sqlite3_finalize(handle) } }

    /// Number of parameters the SQL declares.
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Number of result columns (0 for statements that return no rows).
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// Result column names, as SQLite reports them (the `AS` alias when there is one).
    public var columnNames: [String] {
        (0..<sqlite3_column_count(handle)).map { index in
            // nil only when out of memory
            sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "#\(index)"
        }
    }

    // MARK: Binding

    /// Binds a value to the 1-based parameter `index`.
    public func bind(_ value: any SQLiteBindable, at index: Int) throws(SQLiteError) {
        guard let position = Int32(exactly: index), position >= 1, index <= parameterCount else {
            throw SQLiteError(
                code: .range, message: "parameter index \(index) out of range 1...\(parameterCount)", sql: sql)
        }
        try bindValue(value.sqliteValue, at: position)
    }

    /// Binds a value to a named parameter; `name` may omit the prefix (`id` finds `:id`, `@id` or `$id`).
    public func bind(_ value: any SQLiteBindable, named name: String) throws(SQLiteError) {
        let candidates = name.first.map { ":@$?".contains($0) } == true ? [name] : [":" + name, "@" + name, "$" + name]
        guard
            let position = candidates.lazy.map({ sqlite3_bind_parameter_index(self.handle, $0) }).first(where: {
                $0 > 0
            })
        else {
            throw SQLiteError(code: .range, message: "no parameter named '\(name)' in the statement", sql: sql)
        }
        try bindValue(value.sqliteValue, at: position)
    }

    /// Binds positional arguments to parameters 1...n; their number must match ``parameterCount``.
    public func bind(_ arguments: [any SQLiteBindable]) throws(SQLiteError) {
        guard arguments.count == parameterCount else {
            throw SQLiteError(
                code: .range, message: "statement takes \(parameterCount) arguments, \(arguments.count) given", sql: sql
            )
        }
        for (offset, argument) in arguments.enumerated() {
            try bindValue(argument.sqliteValue, at: Int32(offset + 1))
        }
    }

    /// Binds named arguments (see ``bind(_:named:)``).
    public func bind(_ arguments: [String: any SQLiteBindable]) throws(SQLiteError) {
        for (name, argument) in arguments {
            try bind(argument, named: name)
        }
    }

    /// Sets every parameter back to NULL.
    public func clearBindings() {
        sqlite3_clear_bindings(handle)
    }

    private func bindValue(_ value: SQLiteValue, at position: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null:
            rc = sqlite3_bind_null(handle, position)
        case .integer(let number):
            rc = sqlite3_bind_int64(handle, position, number)
        case .real(let number):
            rc = sqlite3_bind_double(handle, position, number)
        case .text(var text):
            rc = text.withUTF8 { utf8 in
                // A nil pointer would bind NULL, so an empty string gets a real (empty) one.
                guard let base = utf8.baseAddress, !utf8.isEmpty else {
                    return sqlite3_bind_text64(handle, position, "", 0, ela_sqlite3_transient(), UInt8(SQLITE_UTF8))
                }
                return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite3_bind_text64(
                        handle, position, $0, UInt64(utf8.count), ela_sqlite3_transient(), UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes { raw in
                // Same here: an empty blob must stay a blob, not become NULL.
                guard let base = raw.baseAddress, !raw.isEmpty else {
                    return sqlite3_bind_zeroblob(handle, position, 0)
                }
                return sqlite3_bind_blob64(handle, position, base, UInt64(raw.count), ela_sqlite3_transient())
            }
        }
        guard rc == SQLITE_OK else {
            throw SQLiteError(resultCode: rc, db: sqlite3_db_handle(handle), sql: sql)
        }
    }

    // MARK: Stepping

    /// Advances to the next row: `true` when a row is available in ``row``, `false` when done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        try connection.checkOpen(sql: sql)
        if connection.isQueryOnly && sqlite3_stmt_readonly(handle) == 0 {
            throw SQLiteError(code: .readOnly, message: "attempt to write in a read transaction", sql: sql)
        }
        generation &+= 1
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(resultCode: rc, db: sqlite3_db_handle(handle), sql: sql)
        }
    }

    /// Rewinds the statement so it can run again; bindings are kept.
    public func reset() {
        generation &+= 1
        // The return value repeats the last step's error, which step() already reported.
        sqlite3_reset(handle)
    }

    /// The current row; valid until the next ``step()`` or ``reset()``.
    public var row: SQLiteRow { SQLiteRow(statement: self, generation: generation) }

    /// Runs the statement to completion, ignoring any rows, then rewinds it.
    public func execute() throws(SQLiteError) {
        defer { reset() }
        while try step() {}
    }

    /// Runs the statement and converts every row, then rewinds it.
    public func map<T>(_ transform: (SQLiteRow) throws -> T) throws -> [T] {
        defer { reset() }
        var results: [T] = []
        while try step() {
            results.append(try transform(row))
        }
        return results
    }

    // MARK: Columns (used by SQLiteRow)

    func columnName(at index: Int) -> String {
        guard index >= 0, index < columnCount, let name = sqlite3_column_name(handle, Int32(index)) else {
            return "#\(index)"
        }
        return String(cString: name)
    }

    /// First column with this name; exact match first, then SQLite's case-insensitive one.
    /// Compares SQLite's own C strings, allocating nothing: a statement is wrapped afresh each time it is taken from
    /// the cache, so a name table built here was rebuilt for every query (a tenth of a signed gate decision).
    func columnIndex(named name: String) -> Int? {
        let count = sqlite3_column_count(handle)
        return name.withCString { target -> Int? in
            for i in 0..<count {
                if let column = sqlite3_column_name(handle, i), strcmp(column, target) == 0 { return Int(i) }
            }
            // SQLite's column names match without regard to ASCII case, as strcasecmp does.
            for i in 0..<count {
                if let column = sqlite3_column_name(handle, i), strcasecmp(column, target) == 0 { return Int(i) }
            }
            return nil
        }
    }

    func columnValue(at index: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            // Pointer first, then length: that order is what SQLite documents as safe.
            let text = sqlite3_column_text(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(
                String(decoding: UnsafeBufferPointer(start: text, count: text == nil ? 0 : count), as: UTF8.self))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(handle, index)
            let count = Int(sqlite3_column_bytes(handle, index))
            return .blob(bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? [])
        default:
            return .null
        }
    }
}

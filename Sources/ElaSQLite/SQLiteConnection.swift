internal import CSQLite

/// One connection to an SQLite database file.
///
/// Not `Sendable`: use it from one thread at a time (it is opened `SQLITE_OPEN_NOMUTEX`).
/// Share it across tasks through ``SQLiteDatabase``. Open at most one writing connection per file.
///
/// A read-write connection is set up for a device that may lose power or be killed at any time:
/// WAL journal (verified), `synchronous=NORMAL` (a committed transaction survives a killed process;
/// a power cut may lose the last few), foreign keys on, a busy timeout, defensive mode (no writes
/// to the schema table), and double-quoted string literals rejected (`"x"` is an identifier).
public final class SQLiteConnection {
    /// How to open a database.
    public struct OpenOptions: Sendable {
        /// Open read-only; the file must exist. The journal mode is left as the file has it.
        public var readOnly: Bool
        /// How long to wait for another process's lock before failing with `.busy`.
        public var busyTimeout: Duration

        public init(readOnly: Bool = false, busyTimeout: Duration = .seconds(5)) {
            self.readOnly = readOnly
            self.busyTimeout = busyTimeout
        }
    }

    /// The path the connection was opened with (`:memory:` for an in-memory database, empty for a temporary one).
    public let path: String
    private(set) var handle: OpaquePointer?
    private var savepointDepth = 0
    /// Prepared statements of `run`, `query` and transactions, by SQL text: re-preparing them cost a hot call
    /// path (the gate's audit append) a third of its time. Finalized by `close()`.
    private var statementCache: [String: OpaquePointer] = [:]
    /// Inside ``SQLiteDatabase/read(_:)``: statements that would write fail with `.readOnly`.
    var isQueryOnly = false
    static let statementCacheLimit = 64

    /// Opens (and for read-write, creates) the database at `path` and configures it.
    ///
    /// Throws ``SQLiteError``: `.cannotOpen` for a missing directory or file, `.notADatabase` for a file
    /// that is not SQLite, `.error` if WAL could not be enabled.
    public init(path: String, options: OpenOptions = .init()) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let access = options.readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, access | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError(resultCode: rc, db: db, path: path)
            sqlite3_close_v2(db)  // SQLite allocates a handle even when opening fails
            throw error
        }
        handle = db
        do {
            try configure(options)
        } catch {
            close()
            throw SQLiteError(
                code: error.code, extendedCode: error.extendedCode, message: error.message, sql: error.sql, path: path)
        }
    }

    deinit { close() }

    private func configure(_ options: OpenOptions) throws(SQLiteError) {
        guard let handle else { return }
        let milliseconds =
            options.busyTimeout.components.seconds * 1000
            + options.busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        for (option, value) in [
            (SQLITE_DBCONFIG_DEFENSIVE, 1), (SQLITE_DBCONFIG_DQS_DML, 0), (SQLITE_DBCONFIG_DQS_DDL, 0),
        ] {
            let rc = ela_sqlite3_db_config_flag(handle, option, Int32(value), nil)
            guard rc == SQLITE_OK else { throw SQLiteError(resultCode: rc, db: handle) }
        }
        // Reads the header, so a file that is not a database fails here rather than on first use.
        try execute("SELECT count(*) FROM sqlite_schema")
        if !options.readOnly {
            let pragma = try prepare("PRAGMA journal_mode=WAL")
            let mode = try pragma.step() ? (try? pragma.row[0, as: String.self]) ?? "?" : "?"
            // In-memory (":memory:") and temporary ("") databases are private to this connection and cannot use WAL.
            let isPrivate = path == ":memory:" || path.isEmpty
            guard mode == "wal" || isPrivate else {
                throw SQLiteError(
                    code: .error,
                    message: "journal_mode is '\(mode)' after asking for WAL"
                        + " (the file system may not support shared memory or locking)",
                    sql: "PRAGMA journal_mode=WAL")
            }
            try execute("PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    /// Closes the connection. Later calls fail with `.misuse`; statements still alive are finalized
    /// when released (`sqlite3_close_v2`). Safe to call more than once.
    public func close() {
        guard let handle else { return }
        for statement in statementCache.values { sqlite3_finalize(statement) }
        statementCache = [:]
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    /// Whether the connection is open.
    public var isOpen: Bool { handle != nil }

    @discardableResult
    func checkOpen(sql: String?) throws(SQLiteError) -> OpaquePointer {
        guard let handle else {
            throw SQLiteError(code: .misuse, message: "the connection to '\(path)' is closed", sql: sql)
        }
        return handle
    }

    // MARK: Running SQL

    /// Runs a script of one or more `;`-separated statements, discarding any rows.
    /// On failure the error carries the failing statement (or the unparsed rest of the script).
    public func execute(_ sql: String) throws(SQLiteError) {
        let db = try checkOpen(sql: sql)
        let failure: SQLiteError? = sql.withCString { script in
            var cursor = script
            while cursor.pointee != 0 {
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(db, cursor, -1, &statement, &tail)
                guard rc == SQLITE_OK else {
                    let rest = String(cString: cursor)
                    return SQLiteError(resultCode: rc, db: db, sql: String(rest.drop { $0.isWhitespace }))
                }
                defer { sqlite3_finalize(statement) }
                guard let next = tail, next != cursor else { return nil }
                cursor = next
                guard let statement else { continue }  // only whitespace or a comment
                if isQueryOnly && sqlite3_stmt_readonly(statement) == 0 {
                    return SQLiteError(code: .readOnly, message: "attempt to write in a read transaction", sql: String(cString: sqlite3_sql(statement)))
                }
                var step: Int32
                repeat { step = sqlite3_step(statement) } while step == SQLITE_ROW
                guard step == SQLITE_DONE else {
                    let failed = sqlite3_sql(statement).map { String(cString: $0) } ?? sql
                    return SQLiteError(resultCode: step, db: db, sql: failed)
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Prepares exactly one statement for repeated use. Use ``execute(_:)`` for scripts.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        SQLiteStatement(connection: self, handle: try prepareHandle(sql), sql: sql)
    }

    /// A statement for `sql` from the cache (prepared once, reused after each run). A cached statement that is
    /// still stepping (a nested use of the same SQL) is not shared: that caller gets a fresh one.
    func cachedStatement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statementCache[sql] {
            try checkOpen(sql: sql)
            if sqlite3_stmt_busy(cached) == 0 {
                return SQLiteStatement(connection: self, handle: cached, sql: sql, ownsHandle: false)
            }
            return try prepare(sql)
        }
        let fresh = try prepareHandle(sql)
        guard statementCache.count < Self.statementCacheLimit else {
            return SQLiteStatement(connection: self, handle: fresh, sql: sql)
        }
        statementCache[sql] = fresh
        return SQLiteStatement(connection: self, handle: fresh, sql: sql, ownsHandle: false)
    }

    private func prepareHandle(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        let db = try checkOpen(sql: sql)
        let prepared: Result<OpaquePointer, SQLiteError> = sql.withCString { text in
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v2(db, text, -1, &statement, &tail)
            guard rc == SQLITE_OK else { return .failure(SQLiteError(resultCode: rc, db: db, sql: sql)) }
            guard let statement else {
                return .failure(SQLiteError(code: .misuse, message: "no SQL statement to prepare", sql: sql))
            }
            // Anything but whitespace and comments after the first statement would be silently ignored.
            if let tail, tail.pointee != 0 {
                var extra: OpaquePointer?
                let rest = sqlite3_prepare_v2(db, tail, -1, &extra, nil)
                sqlite3_finalize(extra)
                if rest != SQLITE_OK || extra != nil {
                    sqlite3_finalize(statement)
                    return .failure(
                        SQLiteError(
                            code: .misuse, message: "prepare takes one statement; use execute(_:) for scripts",
                            sql: sql))
                }
            }
            return .success(statement)
        }
        return try prepared.get()
    }

    /// Runs one statement with positional arguments (`?` parameters), discarding any rows.
    public func run(_ sql: String, _ arguments: any SQLiteBindable...) throws(SQLiteError) {
        try run(sql, arguments: arguments)
    }

    /// Runs one statement with positional arguments, discarding any rows.
    public func run(_ sql: String, arguments: [any SQLiteBindable]) throws(SQLiteError) {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        try statement.execute()
    }

    /// Runs one statement with positional arguments and converts each row.
    public func query<T>(_ sql: String, _ arguments: any SQLiteBindable..., row: (SQLiteRow) throws -> T) throws -> [T]
    {
        try query(sql, arguments: arguments, row: row)
    }

    /// Runs one statement with positional arguments and converts each row.
    public func query<T>(_ sql: String, arguments: [any SQLiteBindable], row: (SQLiteRow) throws -> T) throws -> [T] {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        return try statement.map(row)
    }

    /// Rowid of the last successful INSERT on this connection (0 if none).
    public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    public var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    public var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    // MARK: Transactions

    /// How a top-level transaction takes its locks.
    public enum TransactionKind: String, Sendable {
        /// Locks on first access; a later write may fail with `.busy`.
        case deferred = "DEFERRED"
        /// Takes the write lock at once: the right choice for writes.
        case immediate = "IMMEDIATE"
        /// Like immediate (WAL readers are never blocked).
        case exclusive = "EXCLUSIVE"
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// Inside another transaction this becomes a SAVEPOINT (and `kind` is ignored): an inner
    /// failure rolls back only the inner work, and the outer body may catch it and go on.
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        if isInTransaction { return try savepoint(body) }
        try cachedStatement("BEGIN \(kind.rawValue)").execute()
        let result: T
        do {
            result = try body()
            try cachedStatement("COMMIT").execute()
        } catch {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL); then there is nothing to undo.
            if isInTransaction { try? cachedStatement("ROLLBACK").execute() }
            throw error
        }
        return result
    }

    private func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "ela_savepoint_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE \(name)")
            return result
        } catch {
            if isInTransaction { try? execute("ROLLBACK TO \(name); RELEASE \(name)") }
            throw error
        }
    }
}

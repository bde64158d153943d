internal import CSQLite

/// An error reported by SQLite, or by this binding for a misuse SQLite itself would reject.
///
/// Match the primary code with `error.code == .constraint`, or in a `catch` clause:
/// `catch SQLiteError.Code.busy { ... }`.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// Primary result code: the low 8 bits of ``extendedCode``.
    public var code: Code
    /// Extended result code, e.g. 2067 (`SQLITE_CONSTRAINT_UNIQUE`) or 787 (`SQLITE_CONSTRAINT_FOREIGNKEY`).
    public var extendedCode: Int32
    /// SQLite's own message (`sqlite3_errmsg`), e.g. `UNIQUE constraint failed: users.email`.
    public var message: String
    /// The SQL text being prepared or run, when there was one.
    public var sql: String?
    /// The database file, for errors raised while opening it.
    public var path: String?

    /// Builds an error from an explicit code and message.
    public init(code: Code, extendedCode: Int32? = nil, message: String, sql: String? = nil, path: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code.rawValue
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// Reads the message of the failed call from the connection; must run right after the failing call.
    init(resultCode: Int32, db: OpaquePointer?, sql: String? = nil, path: String? = nil) {
        let message: String
        if let db, let text = sqlite3_errmsg(db) {
            message = String(cString: text)
        } else {
            message = String(cString: sqlite3_errstr(resultCode))
        }
        self.init(
            code: Code(rawValue: resultCode & 0xFF), extendedCode: resultCode, message: message, sql: sql, path: path)
    }

    public var description: String {
        var text = "SQLite error \(extendedCode) (\(code)): \(message)"
        if let path { text += " [database: \(path)]" }
        if let sql {
            // Scripts can be long; the start is enough to find the statement.
            let limit = 300
            text += " [SQL: \(sql.count > limit ? String(sql.prefix(limit)) + "..." : sql)]"
        }
        return text
    }
}

extension SQLiteError {
    /// A primary SQLite result code (`SQLITE_*`).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Generic error (`SQLITE_ERROR`), also used for SQL syntax errors.
        public static let error = Code(rawValue: SQLITE_ERROR)
        /// Internal logic error (`SQLITE_INTERNAL`).
        public static let `internal` = Code(rawValue: SQLITE_INTERNAL)
        /// Access permission denied (`SQLITE_PERM`).
        public static let permission = Code(rawValue: SQLITE_PERM)
        /// Operation interrupted (`SQLITE_INTERRUPT`).
        public static let interrupted = Code(rawValue: SQLITE_INTERRUPT)
        /// The database file is locked by another connection (`SQLITE_BUSY`).
        public static let busy = Code(rawValue: SQLITE_BUSY)
        /// A table is locked (`SQLITE_LOCKED`).
        public static let locked = Code(rawValue: SQLITE_LOCKED)
        /// Out of memory (`SQLITE_NOMEM`).
        public static let noMemory = Code(rawValue: SQLITE_NOMEM)
        /// Write to a read-only database (`SQLITE_READONLY`).
        public static let readOnly = Code(rawValue: SQLITE_READONLY)
        /// Disk I/O error (`SQLITE_IOERR`).
        public static let ioError = Code(rawValue: SQLITE_IOERR)
        /// The database file is malformed (`SQLITE_CORRUPT`).
        public static let corrupt = Code(rawValue: SQLITE_CORRUPT)
        /// The disk is full (`SQLITE_FULL`).
        public static let full = Code(rawValue: SQLITE_FULL)
        /// The database file cannot be opened (`SQLITE_CANTOPEN`).
        public static let cannotOpen = Code(rawValue: SQLITE_CANTOPEN)
        /// The schema changed under a prepared statement (`SQLITE_SCHEMA`).
        public static let schema = Code(rawValue: SQLITE_SCHEMA)
        /// A value is too big (`SQLITE_TOOBIG`).
        public static let tooBig = Code(rawValue: SQLITE_TOOBIG)
        /// A constraint failed: UNIQUE, NOT NULL, CHECK, FOREIGN KEY, ... (`SQLITE_CONSTRAINT`).
        public static let constraint = Code(rawValue: SQLITE_CONSTRAINT)
        /// Data type mismatch (`SQLITE_MISMATCH`).
        public static let mismatch = Code(rawValue: SQLITE_MISMATCH)
        /// The API was used wrongly, e.g. on a closed connection (`SQLITE_MISUSE`).
        public static let misuse = Code(rawValue: SQLITE_MISUSE)
        /// Authorization denied (`SQLITE_AUTH`).
        public static let authorization = Code(rawValue: SQLITE_AUTH)
        /// A parameter or column index is out of range (`SQLITE_RANGE`).
        public static let range = Code(rawValue: SQLITE_RANGE)
        /// The file is not a database (`SQLITE_NOTADB`).
        public static let notADatabase = Code(rawValue: SQLITE_NOTADB)

        /// SQLite's English name for the code, e.g. `constraint failed`.
        public var description: String { String(cString: sqlite3_errstr(rawValue)) }

        /// Lets `catch SQLiteError.Code.constraint { }` match any `SQLiteError` with that primary code.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? SQLiteError)?.code == pattern
        }
    }
}

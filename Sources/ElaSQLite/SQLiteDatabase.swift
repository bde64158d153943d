#if canImport(Glibc)
import Glibc
#endif
internal import Synchronization

/// The one connection to a database file, shared safely between tasks and threads.
///
/// SQLite allows many readers but one writer per file; this type owns the single connection and
/// serializes every use of it behind a `Mutex`. Calls block the calling thread while another
/// caller holds the connection, so keep bodies short (no awaiting, no network inside). The lock is
/// not reentrant: never call ``read(_:)`` or ``write(_:)`` from inside a body (nest with
/// ``SQLiteConnection/transaction(_:_:)`` on the connection you were handed instead).
///
/// `@unchecked Sendable`: ``SQLiteConnection`` is not `Sendable` (it wraps a C handle opened
/// `SQLITE_OPEN_NOMUTEX`), and it is only ever touched while `lock` is held. (`Mutex<SQLiteConnection>`
/// would be checked, but its `inout sending` value cannot be handed to a caller's closure.) Results
/// crossing out of the lock must be `Sendable`, so a statement or row cannot leak out; bodies must
/// not store the connection they are handed.
public final class SQLiteDatabase: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let lock = Mutex<Void>(())

    /// The database file path.
    public var path: String { connection.path }

    /// Opens the database at `path` (see ``SQLiteConnection/init(path:options:)``).
    public init(path: String, options: SQLiteConnection.OpenOptions = .init()) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path, options: options)
    }

    /// Runs `body` in an IMMEDIATE transaction: committed on return, rolled back if it throws.
    public func write<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try lock.withLock { _ in
            try connection.transaction(.immediate) { try body(connection) }
        }
    }

    /// Runs `body` in a read transaction (one consistent snapshot). Writes fail with `.readOnly`.
    public func read<T: Sendable>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try lock.withLock { _ in
            // Not `PRAGMA query_only`: changing a flag pragma expires every prepared statement, so each read would
            // make the next queries compile again.
            try connection.transaction(.deferred) {
                connection.isQueryOnly = true
                defer { connection.isQueryOnly = false }
                return try body(connection)
            }
        }
    }

    /// Applies pending migrations (see ``SQLiteMigrator/migrate(_:)``).
    @discardableResult
    public func migrate(_ migrator: SQLiteMigrator) throws -> [SQLiteMigration] {
        try lock.withLock { _ in try migrator.migrate(connection) }
    }

    /// Like ``migrate(_:)``, but first, when an existing database is behind `migrator`, writes a consistent copy of it
    /// to `snapshotPath(currentVersion)` (`VACUUM INTO` a temporary file, renamed into place, so a cut-off copy never
    /// looks like a good one; an older copy of that name is replaced): the way back to the older program, which
    /// refuses a database migrated past it. Copies of older versions (`snapshotPath(1)` up) are removed then, so one
    /// copy at most takes the space. A copy that cannot be written (a full disk) does not stop the migration: its error
    /// is returned with the migrations applied.
    public func migrate(_ migrator: SQLiteMigrator, snapshotPath: (Int) -> String)
        throws -> (applied: [SQLiteMigration], snapshot: Result<String, SQLiteError>?)
    {
        try lock.withLock { _ in
            let current = try migrator.currentVersion(of: connection)
            var snapshot: Result<String, SQLiteError>?
            if current > 0 && current < migrator.latestVersion {
                let path = snapshotPath(current)
                let temporary = path + ".partial"
                unlink(temporary)
                do throws(SQLiteError) {
                    // A literal: VACUUM INTO takes an expression, and execute binds no parameters.
                    try connection.execute("VACUUM INTO '\(temporary.replacing("'", with: "''"))'")
                    guard rename(temporary, path) == 0 else {
                        throw SQLiteError(code: .error, message: "cannot rename \(temporary): \(String(cString: strerror(errno)))", path: path)
                    }
                    snapshot = .success(path)
                    for older in 1..<current { unlink(snapshotPath(older)) }
                } catch {
                    unlink(temporary)
                    snapshot = .failure(error)
                }
            }
            return (try migrator.migrate(connection), snapshot)
        }
    }

    /// Closes the connection; later calls fail with `.misuse`.
    public func close() {
        lock.withLock { _ in connection.close() }
    }
}

/// One schema change: applied once, in `version` order, inside its own transaction.
public struct SQLiteMigration: Sendable, Hashable {
    /// Positive and unique; migrations run in ascending order. Only ever append new versions.
    public let version: Int
    /// Short description, recorded with the version.
    public let name: String
    /// The script to run (may hold several statements). PRAGMAs that cannot run in a transaction
    /// (`foreign_keys`, `journal_mode`) have no effect here.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Why migrating failed.
public enum SQLiteMigrationError: Error, CustomStringConvertible {
    /// The database was migrated by newer code: opening it with this code could corrupt it.
    case databaseNewerThanCode(databaseVersion: Int, latestKnownVersion: Int)
    /// The migration list itself is wrong (versions not positive or not unique).
    case invalidMigrations(String)
    /// A migration's SQL failed; it was rolled back and the database stays at the previous version.
    case migrationFailed(version: Int, name: String, underlying: any Error)

    public var description: String {
        switch self {
        case .databaseNewerThanCode(let databaseVersion, let latestKnownVersion):
            "database schema is at version \(databaseVersion) but this program knows only up to"
                + " \(latestKnownVersion); upgrade the program or restore a matching database"
        case .invalidMigrations(let reason):
            "invalid migration list: \(reason)"
        case .migrationFailed(let version, let name, let underlying):
            "migration \(version) '\(name)' failed and was rolled back: \(underlying)"
        }
    }
}

/// Applies pending ``SQLiteMigration``s and records each in the `schema_migrations` table
/// (`version`, `name`, `applied_at` as UTC ISO 8601); `PRAGMA user_version` mirrors the latest version.
/// Running it again is a no-op.
public struct SQLiteMigrator: Sendable {
    /// The migrations, sorted by version.
    public let migrations: [SQLiteMigration]

    public init(_ migrations: [SQLiteMigration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The highest version this code knows (0 with no migrations).
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The version the database is at (0 for a new database).
    public func currentVersion(of connection: SQLiteConnection) throws -> Int {
        let hasTable = try connection.query(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"
        ) { row -> Int in try row[0] }
        let recorded =
            hasTable.first == 1
            ? try connection.query("SELECT max(version) FROM schema_migrations") { row -> Int? in try row[0] }.first
                ?? nil
            : nil
        let userVersion = try connection.query("PRAGMA user_version") { row -> Int in try row[0] }.first ?? 0
        return max(recorded ?? 0, userVersion)
    }

    /// Applies every migration newer than the database, each in its own transaction.
    /// - Returns: the migrations applied now (empty when up to date).
    @discardableResult
    public func migrate(_ connection: SQLiteConnection) throws -> [SQLiteMigration] {
        try validate()
        let current = try connection.transaction { try checkedVersion(of: connection) }
        var applied: [SQLiteMigration] = []
        for migration in migrations where migration.version > current {
            let didApply = try connection.transaction {
                // Re-read under the write lock: another process may have migrated meanwhile.
                guard try checkedVersion(of: connection) < migration.version else { return false }
                do {
                    try connection.execute(migration.sql)
                } catch {
                    throw SQLiteMigrationError.migrationFailed(
                        version: migration.version, name: migration.name, underlying: error)
                }
                try connection.run(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                        + " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    migration.version, migration.name)
                // user_version is a plain integer; PRAGMA takes no parameters.
                try connection.execute("PRAGMA user_version = \(migration.version)")
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    private func checkedVersion(of connection: SQLiteConnection) throws -> Int {
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """)
        let version = try currentVersion(of: connection)
        guard version <= latestVersion else {
            throw SQLiteMigrationError.databaseNewerThanCode(
                databaseVersion: version, latestKnownVersion: latestVersion)
        }
        return version
    }

    private func validate() throws(SQLiteMigrationError) {
        if let bad = migrations.first(where: { $0.version <= 0 }) {
            throw .invalidMigrations("version \(bad.version) ('\(bad.name)') must be positive")
        }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw .invalidMigrations("version \(next.version) is used by both '\(previous.name)' and '\(next.name)'")
        }
    }
}

public import ElaSQLite

/// The agent's own database (`<state-dir>/agent.db`, SQLite in WAL mode): device identity, settings, start log,
/// SPV headers and DID anchors, and the gate's grants, owner, nonces and audit log.
public final class AgentStore: Sendable {
    public static let fileName = "agent.db"

    /// Append-only: never edit a released migration, add a new one.
    public static let migrations = SQLiteMigrator([
        SQLiteMigration(
            version: 1, name: "device identity, settings, start log",
            sql: """
                CREATE TABLE device_identity (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    did TEXT NOT NULL,
                    document TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE settings (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE agent_starts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at INTEGER NOT NULL,
                    version TEXT NOT NULL,
                    pid INTEGER NOT NULL
                );
                """),
        SQLiteMigration(
            version: 2, name: "SPV header chains",
            sql: """
                CREATE TABLE chain_headers (
                    chain TEXT NOT NULL,
                    hash BLOB NOT NULL,
                    previous_hash BLOB NOT NULL,
                    height INTEGER NOT NULL,
                    chain_work BLOB NOT NULL,
                    raw BLOB NOT NULL,
                    main INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (chain, hash)
                ) WITHOUT ROWID;
                CREATE INDEX chain_headers_main_height ON chain_headers (chain, main, height);
                """),
        SQLiteMigration(
            version: 3, name: "DID requests anchored in blocks",
            sql: """
                CREATE TABLE did_anchors (
                    chain TEXT NOT NULL,
                    txid BLOB NOT NULL,
                    block_hash BLOB NOT NULL,
                    position INTEGER NOT NULL,
                    did TEXT NOT NULL,
                    request TEXT NOT NULL,
                    PRIMARY KEY (chain, txid, block_hash)
                ) WITHOUT ROWID;
                CREATE INDEX did_anchors_did ON did_anchors (chain, did);
                """),
        SQLiteMigration(
            version: 4, name: "gate: grants, owner, nonces, hash-chained audit log",
            sql: """
                CREATE TABLE grants (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    subject TEXT NOT NULL,
                    capability TEXT NOT NULL,
                    constraints TEXT NOT NULL DEFAULT '{}',
                    expires_at INTEGER,
                    created_at INTEGER NOT NULL,
                    note TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX grants_subject ON grants (subject);
                CREATE TABLE owner (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    did TEXT NOT NULL,
                    document TEXT NOT NULL,
                    updated_at INTEGER NOT NULL
                );
                CREATE TABLE gate_nonces (
                    subject TEXT NOT NULL,
                    nonce TEXT NOT NULL,
                    seen_at INTEGER NOT NULL,
                    PRIMARY KEY (subject, nonce)
                ) WITHOUT ROWID;
                CREATE INDEX gate_nonces_seen_at ON gate_nonces (seen_at);
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    subject TEXT NOT NULL,
                    caller TEXT NOT NULL CHECK (caller IN ('admin', 'signed', 'credential', 'plugin')),
                    method TEXT NOT NULL,
                    capability TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
                    reason TEXT NOT NULL,
                    request TEXT NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE INDEX audit_log_subject ON audit_log (subject, seq);
                CREATE INDEX audit_log_at ON audit_log (at);
                CREATE TABLE audit_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    hash BLOB NOT NULL
                );
                """),
        // SQLite cannot change a CHECK in place: the table is copied row for row (the hashes cover the values, not
        // the table, so the chain still verifies).
        SQLiteMigration(
            version: 5, name: "audit log: caller 'session' (calls inside a carrier session)",
            sql: """
                CREATE TABLE audit_log_v5 (
                    seq INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    subject TEXT NOT NULL,
                    caller TEXT NOT NULL CHECK (caller IN ('admin', 'signed', 'credential', 'plugin', 'session')),
                    method TEXT NOT NULL,
                    capability TEXT NOT NULL,
                    decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny')),
                    reason TEXT NOT NULL,
                    request TEXT NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                INSERT INTO audit_log_v5 (seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash)
                    SELECT seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash FROM audit_log;
                DROP TABLE audit_log;
                ALTER TABLE audit_log_v5 RENAME TO audit_log;
                CREATE INDEX audit_log_subject ON audit_log (subject, seq);
                CREATE INDEX audit_log_at ON audit_log (at);
                """),
        SQLiteMigration(
            version: 6, name: "audit log retention: where the removed part of the chain ended",
            sql: """
                CREATE TABLE audit_pruned (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    rows INTEGER NOT NULL,
                    at INTEGER NOT NULL
                );
                """),
        SQLiteMigration(
            version: 7, name: "SPV re-anchoring: a DID anchor's block height once its header is pruned",
            sql: """
                ALTER TABLE did_anchors ADD COLUMN height INTEGER;
                """),
        SQLiteMigration(
            version: 8, name: "revoked owner credentials: a credential id, or a DID for every credential it holds",
            sql: """
                CREATE TABLE revoked_credentials (
                    key TEXT PRIMARY KEY,
                    note TEXT NOT NULL,
                    revoked_at INTEGER NOT NULL
                );
                """),
        SQLiteMigration(
            version: 9, name: "audit log retention: the latest trustworthy stamp among the removed rows",
            sql: """
                ALTER TABLE audit_pruned ADD COLUMN latest_at INTEGER;
                """),
    ])

    let database: SQLiteDatabase
    /// The copy of the database taken before this open migrated it (`<path>.schema-<version>`, the only one kept), for
    /// going back to the program that wrote it, or why it could not be written; nil when nothing was migrated.
    public let migrationSnapshot: Result<String, SQLiteError>?

    /// Opens (creating if needed) and migrates the database; an existing one is copied first when it is migrated.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        migrationSnapshot = try database.migrate(Self.migrations) { version in "\(path).schema-\(version)" }.snapshot
    }

    public var path: String { database.path }

    /// Where the gate writes audit rows ahead of this database (`<path>.audit-journal`); nil for an in-memory one.
    public var auditJournalPath: String? { path.isEmpty || path.hasPrefix(":") ? nil : path + ".audit-journal" }

    public func close() { database.close() }

    /// Runs `body` in one write transaction (committed on return, rolled back if it throws), so changes to several
    /// stores (say a nonce and a grant lookup, with the audit row appended in order) happen together or not at all. Never call another
    /// store's own-transaction methods from inside `body`: pass `transaction` to their `in:` variants instead.
    public func write<T: Sendable>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try database.write { db in try body(StoreTransaction(connection: db)) }
    }

    /// Runs `body` in one read transaction (a consistent snapshot across stores); writes fail.
    public func read<T: Sendable>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try database.read { db in try body(StoreTransaction(connection: db)) }
    }

    // MARK: Device identity

    public struct DeviceIdentityRecord: Sendable, Equatable {
        public var did: String
        /// The normalized, signed DID document.
        public var document: String
        public var createdAt: Int64
        public var updatedAt: Int64
    }

    public func deviceIdentity() throws -> DeviceIdentityRecord? {
        try database.read { db in
            try db.query("SELECT did, document, created_at, updated_at FROM device_identity WHERE id = 1") { row in
                DeviceIdentityRecord(
                    did: try row["did"], document: try row["document"], createdAt: try row["created_at"],
                    updatedAt: try row["updated_at"])
            }.first
        }
    }

    /// Saves the device DID and document; the creation time of an existing identity is kept.
    public func saveDeviceIdentity(did: String, document: String, now: Int64) throws {
        try database.write { db in
            try db.run(
                """
                INSERT INTO device_identity (id, did, document, created_at, updated_at) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET did = excluded.did, document = excluded.document, updated_at = excluded.updated_at
                """, did, document, now, now)
        }
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try database.read { db in try Self.setting(key, in: db) }
    }

    public func setSetting(_ key: String, _ value: String, now: Int64) throws {
        try database.write { db in try Self.setSetting(key, value, now: now, in: db) }
    }

    private static func setting(_ key: String, in db: SQLiteConnection) throws -> String? {
        try db.query("SELECT value FROM settings WHERE key = ?", key) { row in try row["value", as: String.self] }.first
    }

    static func setSetting(_ key: String, _ value: String, now: Int64, in db: SQLiteConnection) throws {
        try db.run(
            """
            INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """, key, value, now)
    }

    /// The number stored as setting `key`, or else the next one of `range` (counted by setting `counter`), stored in
    /// the same transaction, so two callers never get the same number. Throws when the stored value is not a number
    /// of `range` or `range` is used up.
    /// `legacyCounter`: where an older version kept the counter; taken over (and removed) if `counter` is not set yet.
    public func allocateNumber(
        key: String, counter: String, legacyCounter: String? = nil, in range: ClosedRange<Int>, now: Int64
    ) throws -> Int {
        try database.write { db in
            func read(_ k: String) throws -> String? { try Self.setting(k, in: db) }
            func write(_ k: String, _ v: String) throws { try Self.setSetting(k, v, now: now, in: db) }
            if let stored = try read(key) {
                guard let number = Int(stored), range.contains(number) else {
                    throw NumberAllocationError(description: "setting \(key) = '\(stored)' is not a number of \(range.lowerBound)-\(range.upperBound)")
                }
                return number
            }
            var counted = try read(counter)
            if counted == nil, let legacyCounter, let legacy = try read(legacyCounter) {
                counted = legacy
                try db.run("DELETE FROM settings WHERE key = ?", legacyCounter)
            }
            guard let next = counted.map({ Int($0) }) ?? range.lowerBound else {
                throw NumberAllocationError(description: "setting \(counter) = '\(counted ?? "")' is not a number")
            }
            guard range.contains(next) else {
                throw NumberAllocationError(description: "every number of \(range.lowerBound)-\(range.upperBound) is taken (\(counter) = \(next))")
            }
            try write(key, String(next))
            try write(counter, String(next + 1))
            return next
        }
    }

    /// Every setting whose key starts with `prefix`, by key.
    public func settings(withPrefix prefix: String) throws -> [(key: String, value: String)] {
        try database.read { db in try Self.settings(withPrefix: prefix, in: db) }
    }

    /// Marks an existing setting as set `now` without changing it; false if there is none.
    @discardableResult
    public func touchSetting(_ key: String, now: Int64) throws -> Bool {
        try database.write { db in
            try db.run("UPDATE settings SET updated_at = ? WHERE key = ?", now, key)
            return db.changes > 0
        }
    }

    /// Every setting whose key starts with `prefix` and whose value is `value`, with when each was last set (unix
    /// seconds), least recently set first.
    public func settings(withPrefix prefix: String, value: String, in transaction: StoreTransaction) throws -> [(key: String, updatedAt: Int64)] {
        try transaction.connection.query(
            "SELECT key, updated_at FROM settings WHERE substr(key, 1, ?) = ? AND value = ? ORDER BY updated_at, key", Int64(prefix.utf8.count), prefix,
            value
        ) { row in (try row["key", as: String.self], try row["updated_at", as: Int64.self]) }
    }

    /// The same inside the caller's transaction (a read-check-write of settings that must not interleave).
    public func settings(withPrefix prefix: String, in transaction: StoreTransaction) throws -> [(key: String, value: String)] {
        try Self.settings(withPrefix: prefix, in: transaction.connection)
    }

    public func setSetting(_ key: String, _ value: String, now: Int64, in transaction: StoreTransaction) throws {
        try Self.setSetting(key, value, now: now, in: transaction.connection)
    }

    @discardableResult
    public func removeSetting(_ key: String, in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run("DELETE FROM settings WHERE key = ?", key)
        return transaction.connection.changes > 0
    }

    private static func settings(withPrefix prefix: String, in db: SQLiteConnection) throws -> [(key: String, value: String)] {
        try db.query(
            "SELECT key, value FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key", Int64(prefix.utf8.count), prefix
        ) { row in (key: try row["key", as: String.self], value: try row["value", as: String.self]) }
    }

    /// Removes a setting; false if there was none.
    @discardableResult
    public func removeSetting(_ key: String) throws -> Bool {
        try database.write { db in
            try db.run("DELETE FROM settings WHERE key = ?", key)
            return db.changes > 0
        }
    }

    // MARK: Start log

    /// Records a start and returns how many starts there have been.
    @discardableResult
    public func recordStart(version: String, pid: Int, now: Int64) throws -> Int {
        try database.write { db in
            try db.run("INSERT INTO agent_starts (started_at, version, pid) VALUES (?, ?, ?)", now, version, pid)
            return try db.query("SELECT COUNT(*) AS n FROM agent_starts") { row in try row["n", as: Int.self] }.first ?? 0
        }
    }
}

/// Why ``AgentStore/allocateNumber(key:counter:in:now:)`` gave no number.
public struct NumberAllocationError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

import ElaSQLite

/// A grant as stored: subject DID, capability pattern and constraints as text. The gate validates and interprets
/// them (pattern syntax, constraints JSON); this layer only keeps them.
public struct StoredGrant: Sendable, Equatable {
    public var id: Int64
    /// The DID the grant is for, `did:elastos:...`.
    public var subject: String
    /// A capability pattern: `gpio.write`, `gpio.*` or `*`.
    public var capability: String
    /// Compact JSON object, param name to allowed values (`{"pin":["LED0","LED1"]}`); `{}` for none.
    public var constraints: String
    /// Unix seconds after which the grant no longer applies; nil for never.
    public var expiresAt: Int64?
    /// Unix seconds.
    public var createdAt: Int64
    /// Who or what made the grant, free text (`elactl grant` by uid 0, ...).
    public var note: String

    public init(
        id: Int64, subject: String, capability: String, constraints: String, expiresAt: Int64?, createdAt: Int64,
        note: String
    ) {
        self.id = id
        self.subject = subject
        self.capability = capability
        self.constraints = constraints
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.note = note
    }

    /// Whether the grant has expired at `now` (unix seconds): it applies up to and including `expiresAt`.
    public func isExpired(at now: Int64) -> Bool { expiresAt.map { now > $0 } ?? false }
}

/// The grants table. Each method without `in:` runs in its own transaction; the `in:` variants join a transaction
/// opened with ``AgentStore/write(_:)`` or ``AgentStore/read(_:)``.
public final class GrantStore: Sendable {
    public let store: AgentStore

    public init(_ store: AgentStore) { self.store = store }

    /// Adds a grant (the id is assigned) and returns it as stored.
    public func add(
        subject: String, capability: String, constraints: String, expiresAt: Int64?, note: String, now: Int64,
        in transaction: StoreTransaction
    ) throws -> StoredGrant {
        try transaction.connection.run(
            "INSERT INTO grants (subject, capability, constraints, expires_at, created_at, note) VALUES (?, ?, ?, ?, ?, ?)",
            subject, capability, constraints, expiresAt, now, note)
        return StoredGrant(
            id: transaction.connection.lastInsertRowID, subject: subject, capability: capability, constraints: constraints,
            expiresAt: expiresAt, createdAt: now, note: note)
    }

    public func add(
        subject: String, capability: String, constraints: String, expiresAt: Int64?, note: String, now: Int64
    ) throws -> StoredGrant {
        try store.write { tx in
            try add(subject: subject, capability: capability, constraints: constraints, expiresAt: expiresAt, note: note, now: now, in: tx)
        }
    }

    /// The grant with this id, expired or not.
    public func grant(id: Int64, in transaction: StoreTransaction) throws -> StoredGrant? {
        try transaction.connection.query("\(Self.select) WHERE id = ?", id, row: Self.decode).first
    }

    public func grant(id: Int64) throws -> StoredGrant? { try store.read { try grant(id: id, in: $0) } }

    /// Grants ordered by id, optionally only one subject's, optionally leaving out those expired at `now`.
    public func list(
        subject: String? = nil, includeExpired: Bool, now: Int64, in transaction: StoreTransaction
    ) throws -> [StoredGrant] {
        var sql = Self.select
        var conditions: [String] = []
        var arguments: [any SQLiteBindable] = []
        if let subject {
            conditions.append("subject = ?")
            arguments.append(subject)
        }
        if !includeExpired {
            conditions.append("(expires_at IS NULL OR expires_at >= ?)")
            arguments.append(now)
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY id"
        return try transaction.connection.query(sql, arguments: arguments, row: Self.decode)
    }

    public func list(subject: String? = nil, includeExpired: Bool, now: Int64) throws -> [StoredGrant] {
        try store.read { try list(subject: subject, includeExpired: includeExpired, now: now, in: $0) }
    }

    /// Deletes a grant; returns it, or nil when there was none with that id.
    @discardableResult
    public func remove(id: Int64, in transaction: StoreTransaction) throws -> StoredGrant? {
        guard let existing = try grant(id: id, in: transaction) else { return nil }
        try transaction.connection.run("DELETE FROM grants WHERE id = ?", id)
        return existing
    }

    @discardableResult
    public func remove(id: Int64) throws -> StoredGrant? { try store.write { try remove(id: id, in: $0) } }

    private static let select = "SELECT id, subject, capability, constraints, expires_at, created_at, note FROM grants"

    private static func decode(_ row: SQLiteRow) throws -> StoredGrant {
        StoredGrant(
            id: try row["id"], subject: try row["subject"], capability: try row["capability"],
            constraints: try row["constraints"], expiresAt: try row["expires_at"], createdAt: try row["created_at"],
            note: try row["note"])
    }
}

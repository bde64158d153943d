import ElaSQLite

/// The device owner: the DID whose credentials grant access, with its DID document (normalized JSON text).
public struct OwnerRecord: Sendable, Equatable {
    public var did: String
    public var document: String
    /// Unix seconds.
    public var updatedAt: Int64

    public init(did: String, document: String, updatedAt: Int64) {
        self.did = did
        self.document = document
        self.updatedAt = updatedAt
    }
}

extension AgentStore {
    /// The configured owner, if any.
    public func owner(in transaction: StoreTransaction) throws -> OwnerRecord? {
        try transaction.connection.query("SELECT did, document, updated_at FROM owner WHERE id = 1") { row in
            OwnerRecord(did: try row["did"], document: try row["document"], updatedAt: try row["updated_at"])
        }.first
    }

    public func owner() throws -> OwnerRecord? { try read { try owner(in: $0) } }

    /// Sets (or replaces) the owner. The caller checks the document first; this layer stores what it is given.
    public func setOwner(did: String, document: String, now: Int64, in transaction: StoreTransaction) throws {
        try transaction.connection.run(
            """
            INSERT INTO owner (id, did, document, updated_at) VALUES (1, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET did = excluded.did, document = excluded.document, updated_at = excluded.updated_at
            """, did, document, now)
    }

    public func setOwner(did: String, document: String, now: Int64) throws {
        try write { try setOwner(did: did, document: document, now: now, in: $0) }
    }

    /// Removes the owner; true when there was one.
    @discardableResult
    public func removeOwner(in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run("DELETE FROM owner WHERE id = 1")
        return transaction.connection.changes == 1
    }
}

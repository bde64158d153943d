import ElaSQLite

/// A credential the admin revoked: `key` is a credential id (`did:elastos:<holder>#<fragment>`) or a holder's DID
/// (every credential issued to it).
public struct RevokedCredential: Sendable, Equatable {
    public var key: String
    public var note: String
    /// Unix seconds.
    public var revokedAt: Int64

    public init(key: String, note: String, revokedAt: Int64) {
        self.key = key
        self.note = note
        self.revokedAt = revokedAt
    }
}

extension AgentStore {
    /// Adds `key` to the revocation list; false if it was there already (its note and time stay).
    public func revokeCredential(_ key: String, note: String, now: Int64, in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run(
            "INSERT INTO revoked_credentials (key, note, revoked_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING", key, note, now)
        return transaction.connection.changes > 0
    }

    /// Takes `key` off the revocation list; false if it was not on it.
    public func unrevokeCredential(_ key: String, in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run("DELETE FROM revoked_credentials WHERE key = ?", key)
        return transaction.connection.changes > 0
    }

    public func revokedCredentials() throws -> [RevokedCredential] {
        try read { tx in
            try tx.connection.query("SELECT key, note, revoked_at FROM revoked_credentials ORDER BY revoked_at, key") { row in
                RevokedCredential(key: try row["key"], note: try row["note"], revokedAt: try row["revoked_at"])
            }
        }
    }

    /// The first of `keys` (a credential id, its holder's DID) on the revocation list, if any.
    public func revocation(of keys: [String]) throws -> RevokedCredential? {
        try read { tx in
            for key in keys {
                let found = try tx.connection.query("SELECT key, note, revoked_at FROM revoked_credentials WHERE key = ?", key) { row in
                    RevokedCredential(key: try row["key"], note: try row["note"], revokedAt: try row["revoked_at"])
                }
                if let found = found.first { return found }
            }
            return nil
        }
    }
}

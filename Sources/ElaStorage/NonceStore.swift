import ElaSQLite

/// Request nonces already seen, per subject: the gate's replay memory. Rows are pruned by age; the gate keeps
/// them for twice its timestamp window, longer than any request carrying them could still be accepted.
public final class NonceStore: Sendable {
    public let store: AgentStore

    public init(_ store: AgentStore) { self.store = store }

    /// Records `nonce` for `subject`; false when it was already recorded (a replay).
    public func insert(subject: String, nonce: String, seenAt: Int64, in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run(
            "INSERT INTO gate_nonces (subject, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT (subject, nonce) DO NOTHING",
            subject, nonce, seenAt)
        return transaction.connection.changes == 1
    }

    public func insert(subject: String, nonce: String, seenAt: Int64) throws -> Bool {
        try store.write { try insert(subject: subject, nonce: nonce, seenAt: seenAt, in: $0) }
    }

    /// Deletes nonces seen before `cutoff` (unix seconds); returns how many.
    @discardableResult
    public func prune(seenBefore cutoff: Int64, in transaction: StoreTransaction) throws -> Int {
        try transaction.connection.run("DELETE FROM gate_nonces WHERE seen_at < ?", cutoff)
        return transaction.connection.changes
    }

    @discardableResult
    public func prune(seenBefore cutoff: Int64) throws -> Int { try store.write { try prune(seenBefore: cutoff, in: $0) } }

    /// How many nonces are remembered.
    public func count() throws -> Int {
        try store.read { tx in
            try tx.connection.query("SELECT count(*) FROM gate_nonces") { try $0[0, as: Int.self] }.first ?? 0
        }
    }
}

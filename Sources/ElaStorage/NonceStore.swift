import ElaSQLite

/// A nonce a signed request used up: remembered for `subject` from `seenAt` (unix seconds).
public struct RecordedNonce: Sendable, Hashable {
    public var subject: String
    public var nonce: String
    public var seenAt: Int64

    public init(subject: String, nonce: String, seenAt: Int64) {
        self.subject = subject
        self.nonce = nonce
        self.seenAt = seenAt
    }

    var key: NonceKey { NonceKey(subject: subject, nonce: nonce) }
}

/// What makes a nonce a replay: the same nonce from the same subject.
struct NonceKey: Hashable, Sendable {
    var subject: String
    var nonce: String
}

/// Request nonces already seen, per subject: the gate's replay memory. Rows are pruned by age; the gate keeps
/// them for twice its timestamp window, longer than any request carrying them could still be accepted.
public final class NonceStore: Sendable {
    public let store: AgentStore

    public init(_ store: AgentStore) { self.store = store }

    /// Records `nonce` for `subject`; false when it was already recorded (a replay).
    public func insert(subject: String, nonce: String, seenAt: Int64, in transaction: StoreTransaction) throws -> Bool {
        try Self.record(RecordedNonce(subject: subject, nonce: nonce, seenAt: seenAt), in: transaction)
    }

    /// Whether `nonce` is recorded for `subject` in the database (the journal's not yet moved ones are not here).
    public func contains(subject: String, nonce: String, in transaction: StoreTransaction) throws -> Bool {
        try !transaction.connection.query("SELECT 1 FROM gate_nonces WHERE subject = ? AND nonce = ?", subject, nonce) { _ in true }.isEmpty
    }

    /// Records `nonce`; false when it was already recorded. Also how the audit journal moves the nonces it carried.
    @discardableResult
    static func record(_ nonce: RecordedNonce, in transaction: StoreTransaction) throws -> Bool {
        try transaction.connection.run(
            "INSERT INTO gate_nonces (subject, nonce, seen_at) VALUES (?, ?, ?) ON CONFLICT (subject, nonce) DO NOTHING",
            nonce.subject, nonce.nonce, nonce.seenAt)
        return transaction.connection.changes == 1
    }

    /// Deletes nonces seen before `cutoff` (unix seconds); returns how many.
    @discardableResult
    static func prune(seenBefore cutoff: Int64, in transaction: StoreTransaction) throws -> Int {
        try transaction.connection.run("DELETE FROM gate_nonces WHERE seen_at < ?", cutoff)
        return transaction.connection.changes
    }

    public func insert(subject: String, nonce: String, seenAt: Int64) throws -> Bool {
        try store.write { try insert(subject: subject, nonce: nonce, seenAt: seenAt, in: $0) }
    }

    /// Deletes nonces seen before `cutoff` (unix seconds); returns how many.
    @discardableResult
    public func prune(seenBefore cutoff: Int64, in transaction: StoreTransaction) throws -> Int {
        try Self.prune(seenBefore: cutoff, in: transaction)
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

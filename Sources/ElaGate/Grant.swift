public import ElaIdentity
public import ElaStorage

/// A permission for one DID: a capability pattern, optional constraints on params, optional expiry.
public struct Grant: Sendable, Equatable {
    public var id: Int64
    public var subject: DID
    public var capability: CapabilityPattern
    public var constraints: GrantConstraints
    /// Unix seconds; the grant applies up to and including this second. Nil for no expiry.
    public var expiresAt: Int64?
    /// Unix seconds.
    public var createdAt: Int64
    /// Where the grant came from (free text).
    public var note: String

    public init(
        id: Int64, subject: DID, capability: CapabilityPattern, constraints: GrantConstraints, expiresAt: Int64?,
        createdAt: Int64, note: String
    ) {
        self.id = id
        self.subject = subject
        self.capability = capability
        self.constraints = constraints
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.note = note
    }

    /// Interprets a stored row; fails only for a row this program did not write (the gate then ignores it).
    public init(stored: StoredGrant) throws(GateError) {
        do {
            subject = try DID(stored.subject)
        } catch {
            throw .corruptGrant(id: stored.id, reason: "subject: \(error.message)")
        }
        do {
            capability = try CapabilityPattern(stored.capability)
            constraints = try GrantConstraints(jsonText: stored.constraints)
        } catch {
            throw .corruptGrant(id: stored.id, reason: "\(error)")
        }
        id = stored.id
        expiresAt = stored.expiresAt
        createdAt = stored.createdAt
        note = stored.note
    }

    /// Whether the grant has expired at `now` (unix seconds).
    public func isExpired(at now: Int64) -> Bool { expiresAt.map { now > $0 } ?? false }
}

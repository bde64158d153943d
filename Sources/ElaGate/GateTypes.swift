public import ElaIdentity
public import ElaJSON

/// One call for the gate to judge.
public enum GateCall: Sendable {
    /// A local administrator over the control socket: always allowed, always audited.
    case admin(method: String, params: JSONObject, uid: UInt32)
    /// A remote caller's signed request, with the JSON text as received (kept in the audit row).
    case signed(SignedRequest, rawJSON: String)
    /// One plugin calling another's method: allowed when a pattern in the caller's manifest `consumes` covers the
    /// method's capability.
    case plugin(name: String, method: String, params: JSONObject, consumes: [CapabilityPattern])
    /// A call inside an authenticated session of `did` (a carrier session opened with a signed proof; its messages
    /// carry the session key's tag and pass a replay window before they get here): judged against the DID's grants
    /// like a signed request, without a signature or nonce of its own. `session` names the session in the audit row.
    /// `credential`: the owner-issued credential its proof presented, verified then (``Gate/verifyCredential(_:caller:now:)``);
    /// each call checks again that it has not expired and that its issuer is still the owner.
    case session(did: DID, method: String, params: JSONObject, request: String, session: String, credential: DeviceAccessCredential? = nil)
}

/// What a gate decision is about; it says which capability the name needs.
public enum GateAction: Sendable {
    /// A call of a plugin method: the method's capability (e.g. `gpio.write`).
    case call
    /// A subscription to an event: the event's capability (e.g. `sensors.subscribe` for `sensors.reading`).
    case subscribe
    /// An admin's own action that reaches no plugin (`peer.pin`, `events.subscribe`): no capability; only for
    /// `.admin`, any other caller is denied.
    case manage

    /// The denial when no manifest names the method or event.
    var unknown: String {
        switch self {
        case .call: "unknown method"
        case .subscribe: "unknown event"
        case .manage: "not a plugin method"
        }
    }
}

/// The gate's answer, as also written to the audit log.
public struct GateDecision: Sendable, Equatable {
    public var allowed: Bool
    /// The DID, `uid:<n>` for a local admin, `plugin:<name>` for a plugin.
    public var subject: String
    /// The capability the method needs; nil for an unknown method.
    public var capability: String?
    /// Why: `grant 3 (gpio.*)`, `no grant for gpio.write`, `constraint pin: param missing`, `replayed nonce`, ...
    public var reason: String
    /// The grant that allowed the call.
    public var grantID: Int64?
    /// The credential (its id) whose capabilities allowed the call.
    public var credentialID: String?
    /// The audit row of this decision; nil only when it could not be written, and then the call is denied.
    public var auditSeq: Int64?
    /// When the grant or credential that allowed the call expires (unix seconds); nil if never.
    public var validUntil: Int64?
    /// The owner DID that issued the credential that allowed the call.
    public var credentialIssuer: String?
    /// The stored owner document that credential was verified against: once it changes (a rotated owner key), the
    /// decision no longer stands (``Gate/stillAllows(_:now:)``).
    public internal(set) var credentialOwnerDocument: String?

    public init(
        allowed: Bool, subject: String, capability: String?, reason: String, grantID: Int64? = nil,
        credentialID: String? = nil, auditSeq: Int64?, validUntil: Int64? = nil, credentialIssuer: String? = nil
    ) {
        self.allowed = allowed
        self.subject = subject
        self.capability = capability
        self.reason = reason
        self.grantID = grantID
        self.credentialID = credentialID
        self.auditSeq = auditSeq
        self.validUntil = validUntil
        self.credentialIssuer = credentialIssuer
    }
}

/// How the gate checks requests.
public struct GateConfiguration: Sendable {
    /// A signed request's timestamp may differ from the gate's clock by at most this much (seconds). Nonces are
    /// remembered for twice as long.
    public var replayWindowSeconds: Int64
    /// This device's DID: a credential that names a `device` must name this one.
    public var deviceDID: DID?
    /// Whether a DID is deactivated on the ID chain (the daemon answers from its SPV registry). A deactivated
    /// caller, or a deactivated owner as credential issuer, is denied.
    public var isDeactivated: (@Sendable (DID) -> Bool)?

    public init(replayWindowSeconds: Int64 = 300, deviceDID: DID? = nil, isDeactivated: (@Sendable (DID) -> Bool)? = nil) {
        self.replayWindowSeconds = replayWindowSeconds
        self.deviceDID = deviceDID
        self.isDeactivated = isDeactivated
    }
}

/// Errors of the gate's management API (grants, owner, audit).
public enum GateError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidSubject(String)
    case invalidPattern(CapabilityPatternError)
    case invalidConstraints(GrantConstraintsError)
    /// A grant must expire after the moment it is made.
    case expiryNotInFuture(expiresAt: Int64, now: Int64)
    /// Past year 9999: most likely milliseconds where seconds were meant.
    case expiryOutOfRange(expiresAt: Int64)
    case grantNotFound(Int64)
    /// A stored grant this program did not write; the gate ignores it.
    case corruptGrant(id: Int64, reason: String)
    case invalidOwnerDocument(String)
    /// Another owner is set: replacing it ends every credential it issued, so it must be asked for.
    case ownerExists(String)
    /// The database failed (I/O, disk full, tampered schema).
    case storage(String)

    public var description: String {
        switch self {
        case .invalidSubject(let message): "invalid grant subject: \(message)"
        case .invalidPattern(let error): error.description
        case .invalidConstraints(let error): error.description
        case .expiryNotInFuture(let expiresAt, let now):
            "grant expiry \(DIDDate(secondsSince1970: expiresAt)) is not in the future (now \(DIDDate(secondsSince1970: now)))"
        case .expiryOutOfRange(let expiresAt):
            "grant expiry \(expiresAt) is after the year 9999: it must be unix seconds (milliseconds divided by 1000)"
        case .grantNotFound(let id): "no grant with id \(id); see `elactl grant list --all`"
        case .corruptGrant(let id, let reason): "stored grant \(id) is unreadable (\(reason)); revoke it and grant again"
        case .invalidOwnerDocument(let message): "owner DID document rejected: \(message)"
        case .ownerExists(let did):
            "the owner is \(did) already; replacing it ends every credential it issued (elactl owner set --replace, or owner clear)"
        case .storage(let message): "gate storage error: \(message)"
        }
    }
}

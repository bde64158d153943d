import ElaGate
public import ElaIdentity
import ElaJSON

/// How the device knows a DApp's DID.
public enum PeerVerification: Sendable, Equatable {
    /// The admin pinned its DID document (`elactl peer pin`).
    case pinned
    /// Its ID-chain transaction is proven with enough confirmations (SPV).
    case spvVerified
    case unverified(String)
}

/// What the daemon knows about a DID when a hello arrives.
public struct PeerFacts: Sendable, Equatable {
    public var verification: PeerVerification
    /// Unexpired grants held by the DID.
    public var grants: Int
    /// The daemon's durable nonce table already held this hello's nonce (a replay across restarts).
    public var nonceSeenBefore: Bool
    /// The device has an owner, who may issue credentials (a hello that announces one is then admitted without a
    /// grant; the session proof must carry the credential).
    public var hasOwner: Bool

    public init(verification: PeerVerification, grants: Int, nonceSeenBefore: Bool = false, hasOwner: Bool = false) {
        self.verification = verification
        self.grants = grants
        self.nonceSeenBefore = nonceSeenBefore
        self.hasOwner = hasOwner
    }
}

/// The verdict on one friend request.
public enum AdmissionDecision: Sendable, Equatable {
    /// Accept the friend: `did` speaks for Tox key `userID`.
    case accept(did: DID, nonce: String, verification: PeerVerification)
    /// Ignore it. `audit` is false only for requests dropped by the rate limit after the first such drop, so a
    /// flood cannot fill the audit log. `did` is the claimed DID when readable.
    case refuse(reason: String, did: String?, audit: Bool)

    public var isAccepted: Bool { if case .accept = self { true } else { false } }
}

public struct AdmissionPolicy: Sendable, Equatable {
    /// A hello's timestamp may differ from our clock by this much; its nonce is remembered twice as long.
    public var windowSeconds: Int64 = 300
    /// Per sending Tox key: up to `burst` hellos at once, then one per `refillSeconds`.
    public var burst: Double = 4
    public var refillSeconds: Double = 15

    public init() {}
}

/// Decides on friend requests (the daemon calls it; the carrier process only forwards requests). A value type with
/// an injected clock (unix seconds), so every rule is tested without sockets or Tox:
/// rate limit per sending key -> envelope decodes as `carrier.hello` -> the key speaks for the DID and the signature
/// verifies -> it names the sender's Tox key and this device -> timestamp within the window -> nonce unseen -> the
/// DID is pinned or SPV-verified -> it holds at least one grant, or announces an owner-issued credential (which its
/// session proof must then carry) on a device that has an owner.
public struct Admission: Sendable {
    public let policy: AdmissionPolicy
    public let deviceUserID: String
    public var clock: @Sendable () -> Int64
    struct Bucket: Sendable {
        var tokens: Double
        var at: Int64
        var refusedSilently: Bool
    }
    var buckets: [String: Bucket] = [:]
    /// "did|nonce" -> first seen.
    var nonces: [String: Int64] = [:]
    /// "did|nonce" -> the sending key, for authentic hellos refused for want of verification or a grant. toxcore
    /// resends a pending friend request with the same hello; from the same key that is the same request again, not
    /// a replay (the hello binds the key, and only its holder can send from it), so it is judged afresh: an admin
    /// may have granted or pinned the DID meanwhile. The timestamp window still bounds it.
    var refusedForNow: [String: String] = [:]
    /// Whether the last `evaluate` refused an authentic, fresh hello only for want of verification or a grant, so an
    /// admin's pin or grant would change the answer.
    public private(set) var lastRefusalAwaitsAdmin = false

    public init(deviceUserID: String, policy: AdmissionPolicy = AdmissionPolicy(), clock: @escaping @Sendable () -> Int64) {
        self.deviceUserID = deviceUserID
        self.policy = policy
        self.clock = clock
    }

    /// Judges a friend request from Tox key `sender` (its user id) carrying `message`; `facts` answers for the
    /// claimed DID and the hello's nonce (lower-cased) once the hello is authentic and fresh.
    public mutating func evaluate(sender: String, message: [UInt8], facts: (DID, String) -> PeerFacts) -> AdmissionDecision {
        let now = clock()
        prune(now: now)
        lastRefusalAwaitsAdmin = false
        guard takeToken(sender, now: now) else {
            let first = !(buckets[sender]?.refusedSilently ?? false)
            buckets[sender]?.refusedSilently = true
            return .refuse(reason: "rate limited: too many friend requests from \(sender)", did: nil, audit: first)
        }
        buckets[sender]?.refusedSilently = false
        guard message.count <= CarrierHello.maxBytes else {
            return .refuse(reason: "hello of \(message.count) bytes exceeds \(CarrierHello.maxBytes)", did: nil, audit: true)
        }
        let hello: SignedRequest
        do { hello = try SignedRequest(text: String(decoding: message, as: UTF8.self)) } catch {
            return .refuse(reason: "malformed hello: \(error)", did: nil, audit: true)
        }
        let did = hello.did.description
        func refuse(_ reason: String) -> AdmissionDecision { .refuse(reason: reason, did: did, audit: true) }
        guard hello.method == CarrierHello.method else { return refuse("hello method is \(hello.method), not \(CarrierHello.method)") }
        guard hello.isKeyBoundToDID else { return refuse("did \(did) is not the DID of the hello's key (\(hello.keyDID))") }
        guard hello.isSignatureValid else { return refuse("bad signature on the hello") }
        guard hello.params["toxKey"]?.stringValue == sender else {
            return refuse("hello binds Tox key \(hello.params["toxKey"]?.stringValue ?? "-"), but the request came from \(sender)")
        }
        guard hello.params["device"]?.stringValue == deviceUserID else {
            return refuse("hello is for device \(hello.params["device"]?.stringValue ?? "-"), not this one (\(deviceUserID))")
        }
        let window = policy.windowSeconds
        if hello.timestamp < now - window {
            return refuse("stale hello: signed \(now - hello.timestamp) s ago, window \(window) s\(Gate.clockNote(now))")
        }
        if hello.timestamp > now + window {
            return refuse("hello timestamp \(hello.timestamp - now) s in the future, window \(window) s\(Gate.clockNote(now))")
        }
        let nonceKey = did + "|" + hello.replayKey
        let resent = refusedForNow[nonceKey] == sender
        guard nonces[nonceKey] == nil || resent else { return refuse("replayed hello nonce") }
        nonces[nonceKey] = nonces[nonceKey] ?? now
        let f = facts(hello.did, hello.replayKey)
        let announcesCredential = hello.params["credential"]?.stringValue != nil
        if f.nonceSeenBefore && !resent { return refuse("replayed hello nonce (seen before a restart)") }
        let fixable: String?
        if case .unverified(let why) = f.verification {
            fixable = "DID not verified: \(why) (pin it with `elactl peer pin`)"
        } else if f.grants == 0 && !(f.hasOwner && announcesCredential) {
            fixable = announcesCredential ? "\(did) holds no grant, and this device has no owner to issue credentials" : "\(did) holds no grant"
        } else {
            fixable = nil
        }
        if let fixable {
            refusedForNow[nonceKey] = sender
            lastRefusalAwaitsAdmin = true
            return refuse(fixable)
        }
        refusedForNow[nonceKey] = nil
        return .accept(did: hello.did, nonce: hello.replayKey, verification: f.verification)
    }

    mutating func takeToken(_ key: String, now: Int64) -> Bool {
        var b = buckets[key] ?? Bucket(tokens: policy.burst, at: now, refusedSilently: false)
        b.tokens = min(policy.burst, b.tokens + Double(now - b.at) / policy.refillSeconds)
        b.at = now
        let ok = b.tokens >= 1
        if ok { b.tokens -= 1 }
        buckets[key] = b
        return ok
    }

    mutating func prune(now: Int64) {
        let keep = policy.windowSeconds * 2
        if nonces.count > 64 {
            nonces = nonces.filter { now - $0.value <= keep }
            refusedForNow = refusedForNow.filter { nonces[$0.key] != nil }
        }
        if buckets.count > 1024 {
            let full = policy.burst * policy.refillSeconds
            buckets = buckets.filter { Double(now - $0.value.at) < full }
        }
    }

    public var rememberedNonces: Int { nonces.count }
}

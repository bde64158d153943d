public import ElaIdentity
internal import ElaJSON
public import ElaStorage
internal import Synchronization

/// Authorizes every call into a plugin and writes each decision, allowed or denied, to the hash-chained audit log.
///
/// A signed request is allowed when: its `did` is the DID of its `publicKey` and the signature verifies, the DID is
/// not deactivated, its timestamp is within the replay window and its nonce is new for that DID, the method is
/// known, and a grant of the DID (or the capabilities of an attached owner-issued credential) covers the method's
/// capability with all constraints met and not expired. The nonce insert, the grant lookup and the audit row's
/// append (to the journal, see ``AuditLogStore``) happen in one transaction, so rows are in the order of the
/// decisions and of grant changes. If the audit row cannot be written the call is denied.
public final class Gate: Sendable {
    public let store: AgentStore
    public let grants: GrantStore
    public let nonces: NonceStore
    public let audit: AuditLogStore
    public let configuration: GateConfiguration
    /// What opening the audit journal found (rows a killed process left in it, a damaged file), or why it could not
    /// be opened; for the agent's log.
    public let auditOpening: Result<AuditJournalRecovery?, AuditJournalError>
    /// Method name to the capability it needs (from the plugin manifests); nil for an unknown method.
    let capabilityOf: @Sendable (String) -> String?
    /// Event name to the capability a subscription to it needs; nil for an unknown event.
    let eventCapabilityOf: @Sendable (String) -> String?
    /// Session credentials whose proof held against a later owner document (key: id and signature, value: that
    /// document), so each call of a session does not check it again; bounded (cleared when full).
    private let reverified = Mutex<(documents: [String: String], checks: Int)>(([:], 0))

    public init(
        store: AgentStore, configuration: GateConfiguration = GateConfiguration(),
        capabilityOf: @escaping @Sendable (String) -> String?, eventCapabilityOf: @escaping @Sendable (String) -> String? = { _ in nil }
    ) {
        self.store = store
        self.grants = GrantStore(store)
        self.nonces = NonceStore(store)
        self.audit = AuditChain.logStore(store, journalPath: store.auditJournalPath)
        // Opened now so that admin changes, whose rows are appended inside their own transaction, find it open; a
        // failure is kept (and retried by the next call's append).
        do { self.auditOpening = .success(try audit.open()) } catch { self.auditOpening = .failure(error) }
        self.configuration = configuration
        self.capabilityOf = capabilityOf
        self.eventCapabilityOf = eventCapabilityOf
    }

    /// The capability `name` needs for `action`: a method's for a call, an event's for a subscription, none for an
    /// admin's own action.
    func capability(_ name: String, _ action: GateAction) -> String? {
        switch action {
        case .call: capabilityOf(name)
        case .subscribe: eventCapabilityOf(name)
        case .manage: nil
        }
    }

    // MARK: Authorizing

    /// Whether what allowed `decision` still allows at `now` (unix seconds): its grant not revoked, the credential's
    /// issuer still the owner, neither expired, the caller's DID not deactivated. A subscription outlives the
    /// decision that opened it; it ends when this turns false. A local admin's or plugin's decision stands; a denial
    /// never does; an unreadable store ends it.
    public func stillAllows(_ decision: GateDecision, now: Int64) -> Bool {
        guard decision.allowed else { return false }
        if let until = decision.validUntil, now > until { return false }
        if let isDeactivated = configuration.isDeactivated {
            for did in [decision.subject, decision.credentialIssuer].compactMap({ $0.flatMap { try? DID($0) } }) where isDeactivated(did) {
                return false
            }
        }
        if let id = decision.credentialID, revocation(id: id, holder: decision.subject) != nil { return false }
        if let issuer = decision.credentialIssuer {
            // Another owner, or the owner's document changed (a rotated key): the credential is judged again only by
            // a new request or subscription.
            guard let owner = (try? store.owner()) ?? nil, owner.did == issuer else { return false }
            if let document = decision.credentialOwnerDocument, owner.document != document { return false }
        }
        guard let id = decision.grantID else { return true }
        return (try? grants.grant(id: id)) != nil
    }

    /// Judges `call` at `now` (unix seconds) and audits the decision.
    public func authorize(_ call: GateCall, now: Int64, action: GateAction = .call) -> GateDecision {
        authorize(call, nowMillis: now.multipliedReportingOverflow(by: 1000).partialValue, action: action)
    }

    /// Judges `call` (a call of a plugin method, a subscription to an event, or an admin's own action) at
    /// `nowMillis` (unix milliseconds, the audit row's time) and audits the decision.
    public func authorize(_ call: GateCall, nowMillis: Int64, action: GateAction = .call) -> GateDecision {
        switch call {
        case .admin(let method, let params, let uid):
            let capability = capability(method, action)
            let row = PendingRow(
                subject: "uid:\(uid)", caller: .admin, method: method, capability: capability,
                request: JSONWriter.compact(.object(params)), at: nowMillis)
            if capability == nil && action != .manage { return record(row, .deny(action.unknown)) }
            return record(row, .allow("local admin (uid \(uid))"))
        case .plugin(let name, let method, let params, let consumes):
            let capability = capability(method, action)
            // A plugin's params are whatever it sent (up to a frame): the row keeps their start.
            let row = PendingRow(
                subject: "plugin:\(name)", caller: .plugin, method: method, capability: capability,
                request: Self.clipped(JSONWriter.compact(.object(params))), at: nowMillis)
            guard let capability else { return record(row, .deny(action.unknown)) }
            guard let pattern = consumes.first(where: { $0.matches(capability) }) else {
                return record(row, .deny("plugin \(name) does not consume \(capability)"))
            }
            return record(row, .allow("plugin \(name) consumes \(pattern)"))
        case .signed(let request, let rawJSON):
            return authorizeSigned(request, rawJSON: rawJSON, nowMillis: nowMillis, action: action)
        case .session(let did, let method, let params, let request, let session, let credential):
            let now = Self.seconds(nowMillis)
            let subject = did.description
            let capability = capability(method, action)
            let row = PendingRow(
                subject: subject, caller: .session, method: method, capability: capability, request: Self.clipped(request), at: nowMillis)
            if let isDeactivated = configuration.isDeactivated, isDeactivated(did) {
                return record(row, .deny("DID deactivated (\(session))"))
            }
            // The credential was verified when the session opened; what can have changed since is checked again.
            let lapsed = credential.flatMap { stillValid($0, caller: did, now: now) }
            let usable = lapsed == nil ? credential : nil
            return record(row) { tx in
                guard let capability else { return .deny("\(action.unknown) (\(session))") }
                var verdict = try self.evaluateGrants(subject: subject, capability: capability, params: params, credential: usable, now: now, in: tx)
                if !verdict.allowed, let lapsed { verdict.reason += "; the session's \(lapsed)" }
                verdict.reason += " (\(session))"
                return verdict
            }
        }
    }

    /// Decodes a signed request's text and judges it; a malformed envelope is denied and audited too (subject:
    /// its `did` if readable, else `unknown`). Returns the decoded request for routing when it decoded.
    public func authorize(signedText: String, nowMillis: Int64, action: GateAction = .call) -> (decision: GateDecision, request: SignedRequest?) {
        let request: SignedRequest
        do {
            request = try SignedRequest(text: signedText)
        } catch {
            let claimed = Self.claimedFields(signedText)
            let row = PendingRow(
                subject: claimed.subject, caller: .signed, method: claimed.method, capability: nil,
                request: Self.clipped(signedText), at: nowMillis)
            return (record(row, .deny("malformed request: \(error)")), nil)
        }
        return (authorizeSigned(request, rawJSON: signedText, nowMillis: nowMillis, action: action), request)
    }

    private func authorizeSigned(_ request: SignedRequest, rawJSON: String, nowMillis: Int64, action: GateAction) -> GateDecision {
        let now = Self.seconds(nowMillis)
        let subject = request.did.description
        let capability = capability(request.method, action)
        let row = PendingRow(
            subject: subject, caller: request.credential == nil ? .signed : .credential, method: request.method,
            capability: capability, request: rawJSON, at: nowMillis)

        // Authentication. Nothing is remembered for requests that fail it, so forged traffic cannot fill the
        // nonce table or burn a caller's nonces.
        guard request.isKeyBoundToDID else {
            return record(row, .deny("did \(subject) is not the DID of publicKey (\(request.keyDID))"))
        }
        guard request.isSignatureValid else { return record(row, .deny("bad signature")) }
        if let isDeactivated = configuration.isDeactivated, isDeactivated(request.did) {
            return record(row, .deny("DID deactivated"))
        }
        let window = replayWindow
        // Compared without subtracting from the caller's number, which could overflow.
        if request.timestamp < Self.saturatingSum(now, -window) {
            let age = now &- request.timestamp
            return record(row, .deny("stale timestamp: signed \(age) s ago, window \(window) s\(Self.clockNote(now))"))
        }
        if request.timestamp > Self.saturatingSum(now, window) {
            let ahead = request.timestamp &- now
            return record(row, .deny("timestamp \(ahead) s in the future, window \(window) s\(Self.clockNote(now))"))
        }

        // Authentic and fresh: the nonce is recorded whatever the decision.
        var early: Verdict?
        var credential: DeviceAccessCredential?
        if capability == nil {
            early = .deny(action.unknown)
        } else if let vc = request.credential {
            switch verifyCredential(vc, caller: request.did, now: now) {
            case .success(let checked): credential = checked
            case .failure(let error): early = .deny(error.description)
            }
        }
        let nonce = RecordedNonce(subject: subject, nonce: request.replayKey, seenAt: now)
        return record(row, nonce: nonce) { tx in
            if let early { return early }
            guard let capability else { return .deny("unknown method") }
            return try self.evaluateGrants(
                subject: subject, capability: capability, params: request.params, credential: credential, now: now, in: tx)
        }
    }

    /// The grants of `subject` (then the credential's capabilities) in id order; the first that covers the call allows it.
    private func evaluateGrants(
        subject: String, capability: String, params: JSONObject, credential: DeviceAccessCredential?, now: Int64,
        in tx: StoreTransaction
    ) throws -> Verdict {
        var violation: ConstraintViolation?
        var expired: Grant?
        for stored in try grants.list(subject: subject, includeExpired: true, now: now, in: tx) {
            // A row this program did not write is ignored: it cannot allow anything.
            guard let grant = try? Grant(stored: stored), grant.capability.matches(capability) else { continue }
            if grant.isExpired(at: now) {
                expired = expired ?? grant
            } else if let broken = grant.constraints.violation(by: params) {
                violation = violation ?? broken
            } else {
                return .allow("grant \(grant.id) (\(grant.capability))", grantID: grant.id, validUntil: grant.expiresAt)
            }
        }
        if let credential, let pattern = credential.capabilities.first(where: { $0.matches(capability) }) {
            if let broken = credential.constraints.violation(by: params) {
                violation = violation ?? broken
            } else {
                return .allow(
                    "credential \(credential.id) (\(pattern))", credentialID: credential.id.description,
                    validUntil: credential.credential.expirationDate.secondsSince1970,
                    credentialIssuer: credential.credential.issuer.description, credentialOwnerDocument: credential.ownerDocumentText)
            }
        }
        if let violation { return .deny(violation.description) }
        if let expired, let at = expired.expiresAt {
            return .deny("grant \(expired.id) expired at \(DIDDate(secondsSince1970: at))")
        }
        return .deny(credential == nil ? "no grant for \(capability)" : "no grant or credential capability for \(capability)")
    }

    /// Checks an owner-issued credential presented by `caller` (its proof, issuer, subject, device, validity) at
    /// `now` (unix seconds), as a signed request's is; a carrier session's proof presents one this way.
    public func verifyCredential(_ vc: VerifiableCredential, caller: DID, now: Int64) -> Result<DeviceAccessCredential, CredentialError> {
        let owner: DIDDocument
        let record: OwnerRecord
        do {
            guard let stored = try store.owner() else { return .failure(.noOwner) }
            record = stored
            owner = try DIDDocument(json: JSONParser.parse(record.document))
        } catch {
            return .failure(.ownerUnreadable("\(error)"))
        }
        if let isDeactivated = configuration.isDeactivated, isDeactivated(owner.subject) {
            return .failure(.ownerDeactivated(owner.subject.description))
        }
        if let revoked = revocation(of: vc) { return .failure(revoked) }
        do {
            var checked = try DeviceAccessCredential(verifying: vc, owner: owner, caller: caller, device: configuration.deviceDID, now: now)
            checked.ownerDocumentText = record.document
            return .success(checked)
        } catch {
            return .failure(error)
        }
    }

    /// Why a credential verified earlier for `caller` no longer counts at `now` (expired, its issuer no longer the
    /// owner or deactivated), or nil. Its proof is checked again only if the owner's document changed since.
    func stillValid(_ credential: DeviceAccessCredential, caller: DID, now: Int64) -> CredentialError? {
        let vc = credential.credential
        guard vc.subject == caller else { return .wrongSubject(subject: vc.subject.description, caller: caller.description) }
        if now > vc.expirationDate.secondsSince1970 { return .expired(vc.expirationDate) }
        if let revoked = revocation(of: vc) { return revoked }
        let record: OwnerRecord?
        do { record = try store.owner() } catch { return .ownerUnreadable("\(error)") }
        guard let record else { return .noOwner }
        guard record.did == vc.issuer.description else { return .wrongIssuer(issuer: vc.issuer.description, owner: record.did) }
        if let isDeactivated = configuration.isDeactivated, isDeactivated(vc.issuer) { return .ownerDeactivated(record.did) }
        if record.document != credential.ownerDocumentText {
            // The outcome for one credential and one document text never changes (expiry and revocation are checked
            // above, every time).
            let key = "\(vc.id) \(vc.proof?.signature ?? "")"
            guard reverified.withLock({ $0.documents[key] }) != record.document else { return nil }
            reverified.withLock { $0.checks += 1 }
            let checked: DeviceAccessCredential
            switch verifyCredential(vc, caller: caller, now: now) {
            case .failure(let e): return e
            case .success(let c): checked = c
            }
            // The document it was checked against (read again inside): it may be newer than `record`'s.
            reverified.withLock { r in
                if r.documents.count >= 256 { r.documents.removeAll() }
                r.documents[key] = checked.ownerDocumentText
            }
        }
        return nil
    }

    /// How often a session's credential was checked again against a changed owner document (for tests).
    var credentialRechecks: Int { reverified.withLock { $0.checks } }

    /// Whether the admin revoked `vc` (its id, or its holder's DID); an unreadable list counts as revoked.
    func revocation(of vc: VerifiableCredential) -> CredentialError? {
        revocation(id: vc.id.description, holder: vc.subject.description)
    }

    func revocation(id: String, holder: String) -> CredentialError? {
        do {
            return try store.revocation(of: [id, holder]).map { .revoked(key: $0.key, note: $0.note) }
        } catch {
            return .revocationUnreadable("\(error)")
        }
    }

    // MARK: Recording

    struct Verdict: Sendable {
        var allowed: Bool
        var reason: String
        var grantID: Int64?
        var credentialID: String?
        var validUntil: Int64?
        var credentialIssuer: String?
        var credentialOwnerDocument: String?

        static func allow(
            _ reason: String, grantID: Int64? = nil, credentialID: String? = nil, validUntil: Int64? = nil, credentialIssuer: String? = nil,
            credentialOwnerDocument: String? = nil
        ) -> Verdict {
            Verdict(
                allowed: true, reason: reason, grantID: grantID, credentialID: credentialID, validUntil: validUntil,
                credentialIssuer: credentialIssuer, credentialOwnerDocument: credentialOwnerDocument)
        }
        static func deny(_ reason: String) -> Verdict { Verdict(allowed: false, reason: reason) }
    }

    /// The audit fields known before the verdict.
    struct PendingRow {
        var subject: String
        var caller: AuditCaller
        var method: String
        var capability: String?
        var request: String
        var at: Int64
    }

    /// In one transaction: prunes old nonces and records `nonce` (a replay is denied), lets `judge` decide, and
    /// appends the audit row. Any storage failure denies the call; if the row was already appended then, the log
    /// says more was allowed than was, never less.
    private func record(
        _ row: PendingRow, nonce: RecordedNonce? = nil,
        _ judge: (StoreTransaction) throws -> Verdict
    ) -> GateDecision {
        do {
            try audit.prepareAppend()
            if let nonce, audit.isJournaled {
                // The nonce rides in the row's journal record and reaches the nonce table with it: no write
                // transaction per request. Known nonces are those in the table or still in the journal; holding off
                // flushes meanwhile means each is in exactly one of the two places.
                let retention = Self.saturatingSum(replayWindow, replayWindow)
                let (verdict, seq) = try audit.holdingFlushes {
                    try store.read { tx throws -> (Verdict, Int64) in
                        let replay = Verdict.deny("replayed nonce")
                        if try self.nonces.contains(subject: nonce.subject, nonce: nonce.nonce, in: tx) {
                            return (replay, try self.audit.append(Self.entry(row, replay), in: tx).seq)
                        }
                        let verdict = try judge(tx)
                        let (record, replayed) = try self.audit.append(
                            Self.entry(row, verdict), usingUp: nonce,
                            pruneNoncesBefore: Self.saturatingSum(nonce.seenAt, -retention), ifReplayed: Self.entry(row, replay), in: tx)
                        return (replayed ? replay : verdict, record.seq)
                    }
                }
                return Self.decision(row, verdict, seq)
            }
            let body = { (tx: StoreTransaction) throws -> (Verdict, Int64) in
                var verdict: Verdict?
                if let nonce {
                    // Kept twice the window: long after any request carrying them has a stale timestamp.
                    let retention = Self.saturatingSum(self.replayWindow, self.replayWindow)
                    try self.nonces.prune(seenBefore: Self.saturatingSum(nonce.seenAt, -retention), in: tx)
                    if try !self.nonces.insert(subject: nonce.subject, nonce: nonce.nonce, seenAt: nonce.seenAt, in: tx) {
                        verdict = .deny("replayed nonce")
                    }
                }
                let final = try verdict ?? judge(tx)
                return (final, try self.audit.append(Self.entry(row, final), in: tx).seq)
            }
            let (verdict, seq) = try nonce == nil ? store.read(body) : store.write(body)
            return Self.decision(row, verdict, seq)
        } catch {
            return Self.unaudited(row, error)
        }
    }

    /// Appends the audit row of a verdict reached without the database; the call is denied if it cannot be written.
    private func record(_ row: PendingRow, _ verdict: Verdict) -> GateDecision {
        do { return Self.decision(row, verdict, try audit.append(Self.entry(row, verdict)).seq) } catch {
            return Self.unaudited(row, error)
        }
    }

    /// A denied request keeps its first 4 KiB: anyone can send requests that are refused (a fresh key has no grant, a
    /// bad signature costs nothing), and a log that stored each whole (up to a frame) could be filled and its
    /// retention made to drop the history of allowed calls.
    private static func entry(_ row: PendingRow, _ verdict: Verdict) -> AuditEntry {
        AuditEntry(
            at: row.at, subject: row.subject, caller: row.caller, method: row.method, capability: row.capability ?? "",
            decision: verdict.allowed ? .allow : .deny, reason: verdict.reason, request: verdict.allowed ? row.request : clipped(row.request))
    }

    private static func decision(_ row: PendingRow, _ verdict: Verdict, _ seq: Int64) -> GateDecision {
        var d = GateDecision(
            allowed: verdict.allowed, subject: row.subject, capability: row.capability, reason: verdict.reason,
            grantID: verdict.grantID, credentialID: verdict.credentialID, auditSeq: seq, validUntil: verdict.validUntil,
            credentialIssuer: verdict.credentialIssuer)
        d.credentialOwnerDocument = verdict.credentialOwnerDocument
        return d
    }

    private static func unaudited(_ row: PendingRow, _ error: any Error) -> GateDecision {
        GateDecision(
            allowed: false, subject: row.subject, capability: row.capability,
            reason: "audit log unavailable, call denied: \(error)", auditSeq: nil)
    }

    /// How many nonces the gate remembers (moving the journal's into the database first).
    public func rememberedNonces() throws -> Int {
        try audit.flush()
        return try nonces.count()
    }

    // MARK: Helpers

    /// Said with a timestamp refused: this device's own time, since either clock may be the wrong one (a board
    /// without a real-time clock reads 1970 until NTP sets it).
    public static func clockNote(_ now: Int64) -> String {
        let unset = AuditLogStore.clockIsUnset(atSeconds: now) ? ", before 2025: not set yet?" : ""
        return " (this device's clock reads \(DIDDate(secondsSince1970: now))\(unset))"
    }

    /// The configured window, never negative.
    var replayWindow: Int64 { max(0, configuration.replayWindowSeconds) }

    static func saturatingSum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    static func seconds(_ millis: Int64) -> Int64 { millis >= 0 ? millis / 1000 : (millis - 999) / 1000 }

    /// Longest request text kept in an audit row for a malformed envelope.
    static let maxMalformedRequestBytes = 4096

    /// `text` cut at a character boundary to at most ``maxMalformedRequestBytes`` UTF-8 bytes, saying how long it was
    /// (malformed and denied requests).
    public static func clipped(_ text: String) -> String {
        guard text.utf8.count > maxMalformedRequestBytes else { return text }
        var kept = ""
        var bytes = 0
        for character in text {
            bytes += character.utf8.count
            if bytes > maxMalformedRequestBytes { break }
            kept.append(character)
        }
        return kept + "...[\(text.utf8.count) bytes in all]"
    }

    /// The `did` and `method` a malformed envelope claims, when they can be read, for its audit row.
    static func claimedFields(_ text: String) -> (subject: String, method: String) {
        guard text.utf8.count <= SignedRequest.maxTextBytes,
            let object = (try? JSONParser.parse(text, maxDepth: 64))?.objectValue
        else { return ("unknown", "") }
        let subject = object["did"]?.stringValue.flatMap { try? DID($0) }?.description ?? "unknown"
        let method = object["method"]?.stringValue.flatMap { CapabilityPattern.isValidName($0) ? $0 : nil } ?? ""
        return (subject, method)
    }
}

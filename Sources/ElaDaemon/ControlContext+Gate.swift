#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaControl
import ElaControlServer
import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaPluginHost
import ElaPluginProtocol
import ElaStorage

/// The router: every call to a plugin method passes the gate (which writes the audit row) before it reaches the
/// plugin. Local admin calls over the control socket are allowed and audited under the caller's uid; signed
/// requests (`elactl call --as`, later the carrier and MQTT) are gated like any remote caller.
/// A control method that runs off the event loop that serves plugin calls: one that syncs to disk (an admin change and
/// its audit row) or reads the whole audit chain.
func offLoopMethod(_ body: @escaping @Sendable (JSONObject) throws(ControlError) -> JSONValue) -> ControlHandler.Method {
    { params throws(ControlError) in try await offLoop { () throws(ControlError) in try body(params) } }
}

extension ControlContext {
    var gateMethods: [String: ControlHandler.Method] {
        let ctx = self
        return [
            "call": { params throws(ControlError) in try await ctx.call(params) },
            "grant.add": offLoopMethod { params throws(ControlError) in try ctx.grantAdd(params) },
            "grant.list": { params throws(ControlError) in try ctx.grantList(params) },
            "grant.revoke": offLoopMethod { params throws(ControlError) in try ctx.grantRevoke(params) },
            "owner.set": offLoopMethod { params throws(ControlError) in try ctx.ownerSet(params) },
            "owner.show": { _ throws(ControlError) in try ctx.ownerShow() },
            "owner.clear": offLoopMethod { _ throws(ControlError) in try ctx.ownerClear() },
            "credential.revoke": offLoopMethod { params throws(ControlError) in try ctx.credentialRevoke(params, revoke: true) },
            "credential.unrevoke": offLoopMethod { params throws(ControlError) in try ctx.credentialRevoke(params, revoke: false) },
            "credential.list": { _ throws(ControlError) in try ctx.credentialList() },
            // Admin changes above sync the audit journal to disk before they commit (tens of ms on an SD card) and
            // these may read the whole chain: all off the event loop that serves plugin calls.
            "audit.list": offLoopMethod { params throws(ControlError) in try ctx.auditList(params) },
            "audit.verify": { _ in await offLoop { ctx.auditVerify() } },
            "audit.prune": { _ throws(ControlError) in try await offLoop { () async throws(ControlError) in try await ctx.auditPrune() } },
        ]
    }

    var adminUID: UInt32 { ControlPeer.uid ?? UInt32.max }

    /// `{"method": m, "params": {...}}` from a local admin, or `{"request": "<signed request JSON text>"}`.
    func call(_ params: JSONObject) async throws(ControlError) -> JSONValue {
        let decision: GateDecision
        let method: String
        let callParams: JSONObject
        if let signed = params["request"] {
            guard let text = signed.stringValue else {
                throw ControlError(code: ControlError.invalidParams, message: "params.request must be the signed request's JSON text")
            }
            let (d, request) = gate.authorize(signedText: text, nowMillis: wallMillis())
            decision = d
            method = request?.method ?? ""
            callParams = request?.params ?? JSONObject()
        } else {
            guard let m = params["method"]?.stringValue, !m.isEmpty else {
                throw ControlError(code: ControlError.invalidParams, message: "params.method must name a plugin method, e.g. gpio.read")
            }
            let p: JSONObject
            switch params["params"] {
            case nil, .null?: p = JSONObject()
            case .object(let o)?: p = o
            default: throw ControlError(code: ControlError.invalidParams, message: "params.params must be an object")
            }
            decision = gate.authorize(.admin(method: m, params: p, uid: adminUID), nowMillis: wallMillis())
            method = m
            callParams = p
        }
        guard decision.allowed else {
            // No manifest names the method: most likely a typo, so say what there is.
            let hint = decision.capability == nil && !method.isEmpty ? Self.unknownNameHint(method, known: plugins.methodNames, kind: "methods") : ""
            throw ControlError(
                code: ControlError.denied, message: "denied: \(decision.reason)\(hint) (audit #\(decision.auditSeq.map(String.init) ?? "-"))")
        }
        return try await dispatch(method, callParams)
    }

    /// Sends an authorized call to the plugin that serves it.
    func dispatch(_ method: String, _ params: JSONObject) async throws(ControlError) -> JSONValue {
        guard let route = plugins.route(method) else {
            throw ControlError(code: ControlError.methodNotFound, message: "no plugin serves \(method)")
        }
        switch await route.supervisor.call(method, params) {
        case .success(let v): return v
        case .failure(.remote(let e)): throw ControlError(code: e.kind.code, message: e.message)
        case .failure(.notRunning(let plugin, let state)) where !plugins.enabled.contains(plugin):
            // Installed but never started: say how to turn it on rather than only that it is off.
            throw ControlError(
                code: ControlError.unavailable,
                message: "plugin \(plugin) is not enabled (\(state)): add it to [plugins] enable in agent.toml and restart the agent, or elactl plugin start \(plugin)")
        case .failure(let e): throw ControlError(code: ControlError.unavailable, message: e.description)
        }
    }

    /// A plugin's own request (e.g. a bridge relaying a command): gated against the plugin's `consumes`.
    static func pluginRequestHandler(gate: @escaping @Sendable () -> Gate?, plugins: @escaping @Sendable () -> PluginHost?) -> PluginRequestHandler {
        { plugin, method, params in
            guard let gate = gate(), let host = plugins() else { return .failure(PluginProtocolError(.notReady, "the agent is starting")) }
            let consumes = (host.supervisors[plugin]?.descriptor.manifest.consumes ?? []).compactMap { try? CapabilityPattern($0) }
            let decision = gate.authorize(.plugin(name: plugin, method: method, params: params, consumes: consumes), nowMillis: wallMillis())
            guard decision.allowed else { return .failure(PluginProtocolError(.pluginError, "denied: \(decision.reason)")) }
            guard let route = host.route(method) else { return .failure(PluginProtocolError(.methodNotFound, "no plugin serves \(method)")) }
            switch await route.supervisor.call(method, params) {
            case .success(let v): return .success(v)
            case .failure(.remote(let e)): return .failure(e)
            case .failure(let e): return .failure(PluginProtocolError(.pluginError, e.description))
            }
        }
    }

    // MARK: grants, owner, audit

    func grantAdd(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let subject = params["subject"]?.stringValue, let capability = params["capability"]?.stringValue else {
            throw ControlError(code: ControlError.invalidParams, message: "params.subject (a DID) and params.capability are required")
        }
        var constraints = GrantConstraints.none
        if let c = params["constraints"], c != .null {
            do { constraints = try GrantConstraints(json: c) } catch {
                throw ControlError(code: ControlError.invalidParams, message: "constraints: \(error)")
            }
        }
        let expires = try params.optionalInt64("expiresAt")
        let note = try params.optionalString("note") ?? ""
        do {
            let g = try gate.addGrant(
                subject: subject, capability: capability, constraints: constraints, expiresAt: expires, note: note, uid: adminUID,
                now: wallSeconds())
            Task { [carrier] in await carrier.retryRefused(subject) }
            var out = describe(g).objectValue ?? JSONObject()
            // Stored either way (a plugin may be installed later), but a pattern nothing needs is most likely a typo.
            if let pattern = try? CapabilityPattern(capability), !plugins.capabilities.contains(where: pattern.matches) {
                let hint = Self.unknownNameHint(capability, known: plugins.capabilities.sorted(), kind: "capabilities")
                out["warning"] = .string("no installed plugin's method or event needs a capability matching \(capability)\(hint)")
            }
            return .object(out)
        } catch { throw ControlError(code: ControlError.invalidParams, message: error.description) }
    }

    func grantList(_ params: JSONObject) throws(ControlError) -> JSONValue {
        var subject: DID?
        if let s = try params.optionalString("subject") {
            do { subject = try DID(s) } catch { throw ControlError(code: ControlError.invalidParams, message: error.message) }
        }
        let includeExpired = try params.optionalBool("includeExpired") ?? false
        do {
            return .array(try gate.listGrants(subject: subject, includeExpired: includeExpired, now: wallSeconds()).map(describe))
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func grantRevoke(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let id = params["id"]?.numberValue?.int64Value else {
            throw ControlError(code: ControlError.invalidParams, message: "params.id must be a grant id (see grant list)")
        }
        do {
            let g = try gate.revokeGrant(id: id, uid: adminUID, now: wallSeconds())
            return .object(["id": .number(JSONNumber(g.id)), "subject": .string(g.subject), "capability": .string(g.capability)])
        } catch .grantNotFound(let id) {
            throw ControlError(code: ControlError.notFound, message: GateError.grantNotFound(id).description)
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func describe(_ g: Grant) -> JSONValue {
        .object([
            "id": .number(JSONNumber(g.id)), "subject": .string(g.subject.description), "capability": .string(g.capability.text),
            "constraints": g.constraints.json, "expiresAt": g.expiresAt.map { .number(JSONNumber($0)) } ?? .null,
            "expired": .bool(g.isExpired(at: wallSeconds())), "createdAt": .number(JSONNumber(g.createdAt)), "note": .string(g.note),
        ])
    }

    func ownerSet(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let text = params["document"]?.stringValue else {
            throw ControlError(code: ControlError.invalidParams, message: "params.document must be the owner's DID document (JSON text)")
        }
        do {
            let doc = try gate.setOwner(documentText: text, replace: try params.optionalBool("replace") ?? false, uid: adminUID, now: wallSeconds())
            // DApps refused for want of an owner to issue their credentials may come in now.
            Task { [carrier] in await carrier.retryRefused(nil) }
            return .object(["did": .string(doc.subject.description), "expires": .string(doc.expires.description)])
        } catch let error as ControlError {
            throw error
        } catch { throw ControlError(code: ControlError.invalidParams, message: "\(error)") }
    }

    /// `{"key": <credential id or holder DID>, "note": ...}`: revokes (or takes back the revocation of) an owner's
    /// credential on this device.
    func credentialRevoke(_ params: JSONObject, revoke: Bool) throws(ControlError) -> JSONValue {
        guard let key = params["key"]?.stringValue else {
            throw ControlError(code: ControlError.invalidParams, message: "params.key must be a credential id or a DID")
        }
        do {
            let changed =
                revoke
                ? try gate.revokeCredential(key, note: try params.optionalString("note") ?? "", uid: adminUID, now: wallSeconds())
                : try gate.unrevokeCredential(key, uid: adminUID, now: wallSeconds())
            return .object(["key": .string(key), "changed": .bool(changed)])
        } catch let error as ControlError {
            throw error
        } catch { throw ControlError(code: ControlError.invalidParams, message: "\(error)") }
    }

    func credentialList() throws(ControlError) -> JSONValue {
        do {
            return .array(
                try gate.revokedCredentials().map {
                    .object([
                        "key": .string($0.key), "note": .string($0.note), "revokedAt": .string(DIDDate(secondsSince1970: $0.revokedAt).description),
                    ])
                })
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func ownerClear() throws(ControlError) -> JSONValue {
        do {
            let was = try gate.clearOwner(uid: adminUID, now: wallSeconds())
            return .object(["removed": was.map(JSONValue.string) ?? .null])
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func ownerShow() throws(ControlError) -> JSONValue {
        do {
            guard let doc = try gate.owner() else { return .null }
            return .object(["did": .string(doc.subject.description), "expires": .string(doc.expires.description)])
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func auditList(_ params: JSONObject) throws(ControlError) -> JSONValue {
        var filter = AuditFilter(subject: nil, decision: nil, sinceMillis: nil, limit: 50)
        filter.subject = try params.optionalString("subject")
        if let d = try params.optionalString("decision") {
            guard let decision = AuditDecision(rawValue: d) else {
                throw ControlError(code: ControlError.invalidParams, message: "decision must be allow or deny")
            }
            filter.decision = decision
        }
        filter.sinceMillis = try params.optionalInt64("sinceMs")
        if let l = try params.optionalInt64("limit") { filter.limit = Int(max(1, min(l, 10000))) }
        do {
            return .array(
                try gate.auditList(filter).map { r in
                    let e = r.entry
                    return .object([
                        "seq": .number(JSONNumber(r.seq)), "atMs": .number(JSONNumber(e.at)), "subject": .string(e.subject),
                        "caller": .string(e.caller.rawValue), "method": .string(e.method), "capability": .string(e.capability),
                        "decision": .string(e.decision.rawValue), "reason": .string(e.reason), "request": .string(e.request),
                        "hash": .string(Hex.encode(r.hash)),
                    ])
                })
        } catch { throw ControlError(code: ControlError.internalError, message: error.description) }
    }

    func auditVerify() -> JSONValue {
        let v = gate.verifyAudit()
        return .object([
            "ok": .bool(v.isOK), "rows": .number(JSONNumber(v.rowCount)), "summary": .string(v.summary),
            "head": v.head.map { .object(["seq": .number(JSONNumber($0.seq)), "hash": .string(Hex.encode($0.hash))]) } ?? .null,
            "problems": .array(v.problems.map { .string($0.description) }),
            "pruned": Self.pruneJSON(v.pruned),
        ])
    }

    /// Applies `[audit]` retention now (as the agent does every few minutes).
    func auditPrune() async throws(ControlError) -> JSONValue {
        let pass = await auditRetention.prune()
        if pass.busy { throw ControlError(code: ControlError.unavailable, message: "audit retention is running already; try again shortly") }
        if let failure = pass.failure { throw ControlError(code: ControlError.internalError, message: failure) }
        return .object([
            "removed": .number(JSONNumber(pass.removed)), "pruned": Self.pruneJSON(pass.mark),
            "maxRows": .number(JSONNumber(config.auditMaxRows)), "maxAgeDays": .number(JSONNumber(config.auditMaxAgeDays)),
        ])
    }

    static func pruneJSON(_ mark: AuditPruneMark?) -> JSONValue {
        guard let mark else { return .null }
        return .object([
            "throughSeq": .number(JSONNumber(mark.seq)), "hash": .string(Hex.encode(mark.hash)), "rows": .number(JSONNumber(mark.rows)),
            "atMs": .number(JSONNumber(mark.at)),
        ])
    }
}

func wallMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

func wallSeconds() -> Int64 { wallMillis() / 1000 }

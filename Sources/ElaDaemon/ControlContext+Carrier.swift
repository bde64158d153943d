import ElaConfig
import ElaControl
import ElaControlServer
import ElaGate
import ElaIdentity
import ElaJSON
import ElaPluginHost
import ElaStorage

/// `elactl carrier show|status` and `elactl peer pin|unpin`.
extension ControlContext {
    var carrierMethods: [String: ControlHandler.Method] {
        let ctx = self
        return [
            "carrier.show": { _ in ctx.carrier.show() },
            "carrier.status": { _ in await ctx.carrierStatus() },
            "peer.pin": offLoopMethod { params throws(ControlError) in try ctx.pinPeer(params) },
            "peer.unpin": offLoopMethod { params throws(ControlError) in try ctx.unpinPeer(params) },
        ]
    }

    func carrierStatus() async -> JSONValue {
        let plugin: JSONValue?
        if let supervisor = plugins.supervisors["carrier"], case .success(let v) = await supervisor.call("carrier.status", JSONObject()) {
            plugin = v
        } else {
            plugin = nil
        }
        var o = carrier.status(plugin: plugin).objectValue ?? JSONObject()
        o["enabled"] = .bool(config.carrier.isEnabled)
        o["udp"] = .bool(config.carrier.udp)
        o["bootstrapNodes"] = .number(JSONNumber(config.carrier.bootstrap.count))
        o["tcpRelays"] = .number(JSONNumber(config.carrier.relays.count))
        if let toxcore = plugin?["toxcore"] { o["toxcore"] = toxcore }
        return .object(o)
    }

    /// Pins a DApp's DID document: its DID then counts as verified for carrier admission (like an SPV-verified one).
    /// The document must be genuine (its proof verifies) and not expired. Audited as an admin action.
    func pinPeer(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let docJSON = params["document"], docJSON.objectValue != nil else {
            throw ControlError(code: ControlError.invalidParams, message: "params.document must be the DID document (a JSON object)")
        }
        let doc: DIDDocument
        do {
            doc = try DIDDocument(json: docJSON)
            try DIDVerifier().checkValid(doc, at: currentTime())
        } catch {
            throw ControlError(code: ControlError.invalidParams, message: "DID document rejected: \(error)")
        }
        let did = doc.subject.description
        let now = currentTime().secondsSince1970
        // The pin and its audit row in one transaction: a pinned DID is admitted without a chain proof, so no pin
        // may take effect unrecorded.
        do {
            try gate.recordAdminAction(
                method: "peer.pin", uid: adminUID, now: now,
                change: { tx in try gate.store.setSetting(CarrierService.pinPrefix + did, JSONWriter.compact(doc.normalizedJSON()), now: now, in: tx) },
                record: { _ in (["did": .string(did)], "pinned \(did) until \(doc.expires)") })
        } catch { throw ControlError(code: ControlError.internalError, message: "\(error)") }
        Task { [carrier] in await carrier.retryRefused(did) }
        return .object(["did": .string(did), "pinned": true, "expires": .string(doc.expires.description)])
    }

    func unpinPeer(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let did = params["did"]?.stringValue else { throw ControlError(code: ControlError.invalidParams, message: "params.did must be a DID") }
        let removed: Bool
        do {
            removed = try gate.recordAdminAction(
                method: "peer.unpin", uid: adminUID, now: wallSeconds(),
                change: { tx in try gate.store.removeSetting(CarrierService.pinPrefix + did, in: tx) },
                record: { removed in (["did": .string(did)], removed ? "unpinned \(did)" : "\(did) was not pinned") })
        } catch { throw ControlError(code: ControlError.internalError, message: "\(error)") }
        return .object(["did": .string(did), "removed": .bool(removed)])
    }
}

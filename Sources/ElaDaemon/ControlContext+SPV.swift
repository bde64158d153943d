import ElaChain
import ElaConfig
import ElaDeviceIdentity
import ElaControl
import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaSPV
import ElaWire

extension ControlContext {
    func spvStatus() -> JSONValue {
        let s = spv.status()
        return .object(
            JSONObject([
                ("network", .string(s.network)), ("height", .number(JSONNumber(Int64(s.height)))),
                ("tipHash", .string(s.tipHash.displayHex)), ("peer", s.peer.map(JSONValue.string) ?? .null),
                ("phase", .string(s.phase)), ("peerHeight", .number(JSONNumber(Int64(clamping: s.peerHeight)))),
                ("confirmationsRequired", .number(JSONNumber(config.spvConfirmations))),
                ("peersConfigured", .array(config.spvPeers.map(JSONValue.string))),
                ("lastError", s.lastError.map(JSONValue.string) ?? .null),
                ("didAnchoring", .bool(Self.anchorsDIDs(config.spvNetwork))),
            ]))
    }

    /// Whether DID requests ride on the chain this agent follows. Only the devnet (`ela-regtest`) carries them in
    /// its blocks; on mainnet and testnet Elastos DIDs live on the EID side chain (an EVM chain), which this agent
    /// neither reads nor publishes to: there, DApps are pinned (`elactl peer pin`), and the headers alone are synced.
    static func anchorsDIDs(_ network: ChainNetwork) -> Bool { network == .regnet }

    func listPeers() throws(ControlError) -> JSONValue {
        var known: [(DID, DIDChainStatus)]
        let pinned: Set<String>
        do {
            known = try spv.knownDIDs(minConfirmations: config.spvConfirmations, now: currentTime())
            pinned = try carrier.pinnedDIDs()
            // Pinned DIDs the chain has not shown (yet) are peers too: the carrier admits them.
            for text in pinned.sorted() where !known.contains(where: { $0.0.description == text }) {
                guard let did = try? DID(text) else { continue }
                // Listed whatever its status: the carrier admits it either way.
                let status: DIDChainStatus
                do { status = try spv.didStatus(did, minConfirmations: config.spvConfirmations, now: currentTime()) } catch {
                    status = .invalid("chain status unavailable: \(error)")
                }
                known.append((did, status))
            }
        } catch {
            throw ControlError(code: ControlError.internalError, message: "\(error)")
        }
        return .array(known.map { describe($0.0, $0.1, includeDocument: false, pinned: pinned.contains($0.0.description)) })
    }

    func verifyPeer(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let text = params["did"]?.stringValue else {
            throw ControlError(code: ControlError.invalidParams, message: "params.did must be a DID string")
        }
        let did: DID
        do { did = try DID(text) } catch { throw ControlError(code: ControlError.invalidParams, message: error.message) }
        let status: DIDChainStatus
        do { status = try spv.didStatus(did, minConfirmations: config.spvConfirmations, now: currentTime()) } catch {
            throw ControlError(code: ControlError.internalError, message: "\(error)")
        }
        let pinned = ((try? carrier.pinnedDIDs()) ?? []).contains(did.description)
        return describe(did, status, includeDocument: true, pinned: pinned)
    }

    func describe(_ did: DID, _ status: DIDChainStatus, includeDocument: Bool, pinned: Bool = false) -> JSONValue {
        var o = JSONObject([("did", .string(did.description))])
        if pinned { o["pinned"] = true }
        switch status {
        case .verified(let document, let txid, let height, let confirmations):
            o["status"] = "verified"
            o["txid"] = .string(txid.displayHex)
            o["height"] = .number(JSONNumber(Int64(height)))
            o["confirmations"] = .number(JSONNumber(confirmations))
            if includeDocument { o["document"] = document.normalizedJSON() }
        case .pending(let txid, let confirmations, let required):
            o["status"] = "pending"
            o["txid"] = .string(txid.displayHex)
            o["confirmations"] = .number(JSONNumber(confirmations))
            o["required"] = .number(JSONNumber(required))
        case .deactivated(let txid, let height):
            o["status"] = "deactivated"
            o["txid"] = .string(txid.displayHex)
            o["height"] = .number(JSONNumber(Int64(height)))
        case .notFound:
            o["status"] = "not-found"
        case .invalid(let reason):
            o["status"] = "invalid"
            o["reason"] = .string(reason)
        }
        return .object(o)
    }

    /// Publishes the device DID: `create` the first time, later an `update` naming the last anchored transaction.
    func publishDID() async throws(ControlError) -> JSONValue {
        guard Self.anchorsDIDs(config.spvNetwork) else {
            throw ControlError(
                code: -32022,
                message: "on \(config.spvNetwork.rawValue), Elastos DIDs are published on the EID side chain, which this agent does not "
                    + "reach: publish the device document (elactl identity show --document) with an Elastos wallet or SDK, "
                    + "and pin DApps with elactl peer pin. Only the devnet (spv.network = \"regnet\") carries DID requests itself")
        }
        let did = identity.did
        guard let signKey = identity.document.defaultKeyId else {
            throw ControlError(code: ControlError.internalError, message: "the device document has no default key")
        }
        let request: IDChainRequest
        do {
            let current = try spv.didStatus(did, minConfirmations: 1, now: currentTime())
            switch current {
            case .verified(_, let txid, _, _), .pending(let txid, _, _):
                request = try IDChainRequest.make(
                    .update, document: identity.document, previousTxid: txid.displayHex, signKey: signKey, key: identity.key)
            case .deactivated:
                throw ControlError(code: -32020, message: "\(did) is deactivated on chain; it cannot be published again")
            case .notFound, .invalid:
                request = try IDChainRequest.make(.create, document: identity.document, signKey: signKey, key: identity.key)
            }
        } catch let e as ControlError {
            throw e
        } catch {
            throw ControlError(code: ControlError.internalError, message: "cannot build the request: \(error)")
        }
        let program: [UInt8]
        do { program = try Base58.decodeCheck(did.methodSpecificId) } catch {
            throw ControlError(code: ControlError.internalError, message: "\(error)")
        }
        let tx = ChainTransaction(
            kind: .registerDID, payload: Array(request.normalizedString.utf8), programHash: program,
            nonce: UInt64.random(in: 0...UInt64.max))
        do { try await spv.broadcast(tx) } catch {
            throw ControlError(code: -32021, message: "cannot reach a chain peer: \(error)")
        }
        return .object(
            JSONObject([
                ("did", .string(did.description)), ("operation", .string(request.operation.rawValue)),
                ("txid", .string(tx.txid.displayHex)),
            ]))
    }
}

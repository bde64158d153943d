internal import ElaChain
public import ElaIdentity
internal import ElaJSON
public import ElaStorage
public import ElaWire

/// What the chain says about a DID, as far as this device can prove from its own headers and Merkle proofs.
public enum DIDChainStatus: Sendable, Equatable {
    /// The latest request is in a main-chain block with enough confirmations and its document verifies.
    case verified(document: DIDDocument, txid: Hash256, height: UInt32, confirmations: Int)
    /// Anchored, but not yet deep enough.
    case pending(txid: Hash256, confirmations: Int, required: Int)
    case deactivated(txid: Hash256, height: UInt32)
    /// No valid request for this DID on the main chain.
    case notFound
    /// Requests exist but none that verifies (reason of the last failure).
    case invalid(String)
}

/// Replays a DID's anchored requests along the main chain: `create`, then `update`s that name the previous txid,
/// then possibly `deactivate`. Requests on side branches (lost in a reorganization) do not count.
public enum DIDRegistry {
    public static func status(
        of did: DID, chain: SPVChain, store: AgentStore, minConfirmations: Int, now: DIDDate
    ) throws -> DIDChainStatus {
        checkingExpiry(try replay(of: did, chain: chain, store: store, minConfirmations: minConfirmations), of: did, now: now)
    }

    /// A verified document that has expired by `now` makes the status invalid.
    public static func checkingExpiry(_ status: DIDChainStatus, of did: DID, now: DIDDate) -> DIDChainStatus {
        guard case .verified(let document, _, _, _) = status, !document.isValid(at: now) else { return status }
        return .invalid("document of \(did) expired at \(document.expires)")
    }

    /// Everything ``status(of:chain:store:minConfirmations:now:)`` proves except the expiry, which depends on the
    /// time: this part changes only with the chain.
    public static func replay(of did: DID, chain: SPVChain, store: AgentStore, minConfirmations: Int) throws -> DIDChainStatus {
        struct Entry {
            var anchor: StoredDIDAnchor
            var height: UInt32
            var txid: Hash256
        }
        let entries: [Entry] = try store.didAnchors(did.description, chain: chain.chainName).compactMap { a in
            guard let position = chain.mainChainPosition(of: a) else { return nil }
            return Entry(anchor: a, height: position.height, txid: Hash256(rawBytes: a.txid))
        }.sorted { ($0.height, $0.anchor.position) < ($1.height, $1.anchor.position) }

        var document: DIDDocument?
        var last: Entry?
        var lastFailure: String?
        for e in entries {
            guard case .request(let request)? = try? DIDObject(text: e.anchor.request) else {
                lastFailure = "transaction \(e.txid) does not carry an ID-chain request"
                continue
            }
            do {
                switch request.operation {
                case .create:
                    guard document == nil else { throw DIDError(.notGenuine, "a second create for \(did)") }
                    try DIDVerifier().checkGenuine(request)
                    document = try request.document()
                case .update, .transfer:
                    guard document != nil, let previous = last else { throw DIDError(.notGenuine, "update before create") }
                    guard request.previousTxid?.lowercased() == previous.txid.displayHex || request.operation == .transfer else {
                        throw DIDError(.notGenuine, "update does not follow the previous transaction \(previous.txid)")
                    }
                    try DIDVerifier().checkGenuine(request)
                    document = try request.document()
                case .deactivate:
                    guard let current = document else { throw DIDError(.notGenuine, "deactivate before create") }
                    try DIDVerifier(resolver: DIDDocumentSet([current])).checkGenuine(request)
                    return .deactivated(txid: e.txid, height: e.height)
                }
                guard document?.subject == did else { throw DIDError(.notGenuine, "request is about another DID") }
                last = e
            } catch {
                lastFailure = "\(request.operation.rawValue) in transaction \(e.txid): \(error)"
            }
        }
        guard let document, let last else {
            return lastFailure.map { .invalid($0) } ?? .notFound
        }
        let confirmations = chain.mainChainPosition(of: last.anchor)?.confirmations ?? 0
        guard confirmations >= minConfirmations else {
            return .pending(txid: last.txid, confirmations: confirmations, required: minConfirmations)
        }
        return .verified(document: document, txid: last.txid, height: last.height, confirmations: confirmations)
    }
}

public import ElaChain
public import ElaMerkle
public import ElaP2P
public import ElaWire

/// One P2P peer as the regtest node sees it: a value-type state machine. It turns each received frame into
/// actions (messages to send, or a disconnect with its reason) using the current chain; the caller does the I/O.
///
/// Protocol (spv.md 2.2): the peer opens with `version`, we answer `version` + `verack`; then `ping`,
/// `filterload`/`filterclear`, `getblocks` (inv of up to 500 main-chain blocks, as filtered blocks once a
/// filter is loaded), `getdata` (filtered block -> `merkleblock` + one `tx` per match; block -> `block`;
/// transaction -> mempool `tx`; anything unknown -> `notfound`), `mempool`, and relayed DID-request `tx`s. A payload that does not decode,
/// anything before `version`, or a second `version` ends the session.
public struct PeerSession: Sendable {
    public enum Action: Sendable, Equatable {
        case send(P2PMessage)
        case disconnect(reason: String)
        /// A DID request transaction relayed by the peer (`did publish` of an SPV client): validate, add to the mempool.
        case accept(ChainTransaction)
    }

    /// Protocol version we announce (ELA's DPoS-era version, below the one that adds `nodeVersion`).
    public static let protocolVersion: UInt32 = 20000
    /// Services: NodeNetwork | TxFiltering | NodeBloom.
    public static let services: UInt64 = 1 | 2 | 4
    /// At most this many hashes per `inv` answering `getblocks` (ELA's limit).
    public static let maxBlocksPerInventory = 500

    let listeningPort: UInt16
    let nonce: UInt64
    public private(set) var peerVersion: VersionMessage?
    public private(set) var receivedVerack = false
    public private(set) var filter: BloomFilter?

    public init(listeningPort: UInt16, nonce: UInt64) {
        self.listeningPort = listeningPort
        self.nonce = nonce
    }

    /// The peer has sent its `version` (and we answered): it may be sent announcements.
    public var isHandshaken: Bool { peerVersion != nil }

    /// Decodes and handles one frame.
    public mutating func handle(_ frame: MessageFrame, chain: RegtestChain, now: UInt32) -> [Action] {
        let message: P2PMessage
        do { message = try P2PMessage(frame: frame) } catch {
            return [.disconnect(reason: "malformed \(frame.command) message: \(error)")]
        }
        return handle(message, chain: chain, now: now)
    }

    public mutating func handle(_ message: P2PMessage, chain: RegtestChain, now: UInt32) -> [Action] {
        guard isHandshaken else {
            guard case .version(let version) = message else {
                return [.disconnect(reason: "sent \(message.command) before version")]
            }
            peerVersion = version
            let ours = VersionMessage(
                version: Self.protocolVersion, services: Self.services, timestamp: now, port: listeningPort, nonce: nonce,
                height: UInt64(chain.tip.height), relay: true)
            return [.send(.version(ours)), .send(.verack)]
        }
        switch message {
        case .version: return [.disconnect(reason: "sent version twice")]
        case .verack:
            receivedVerack = true
            return []
        case .ping(let n): return [.send(.pong(nonce: n))]
        case .filterload(let f):
            guard f.isWithinSizeConstraints else { return [.disconnect(reason: "filterload exceeds the size limits")] }
            filter = f
            return []
        case .filterclear:
            filter = nil
            return []
        case .getblocks(let locator, let stop):
            let hashes = chain.mainChainHashes(after: locator, stop: stop, limit: Self.maxBlocksPerInventory)
            return hashes.isEmpty ? [] : [.send(.inv(hashes.map { InventoryVector(blockKind, $0) }))]
        case .getdata(let items): return answer(items, chain: chain)
        case .mempool:
            let ids = chain.mempool.filter { filter?.matches($0) ?? true }.map { InventoryVector(.transaction, $0.txid) }
            return ids.isEmpty ? [] : [.send(.inv(ids))]
        case .tx(let raw):
            guard let tx = try? ChainTransaction(bytes: raw), tx.kind == .registerDID else {
                return [.disconnect(reason: "relayed a transaction that is not a DID request")]
            }
            return [.accept(tx)]
        case .pong, .inv, .notfound, .merkleblock, .getaddr, .reject, .other:
            return []  // nothing to do for a node that only serves
        }
    }

    /// The `inv` announcing a new best block, if the peer has completed the handshake.
    public func announcement(of tip: Hash256) -> [Action] {
        isHandshaken ? [.send(.inv([InventoryVector(blockKind, tip)]))] : []
    }

    /// Filtered blocks once the peer loaded a filter, plain blocks otherwise.
    var blockKind: InventoryVector.Kind { filter == nil ? .block : .filteredBlock }

    func answer(_ items: [InventoryVector], chain: RegtestChain) -> [Action] {
        var actions: [Action] = []
        var missing: [InventoryVector] = []
        for item in items {
            switch item.kind {
            case .filteredBlock:
                guard let block = chain.block(item.hash) else {
                    missing.append(item)
                    continue
                }
                let (message, matched) = block.filtered(by: filter)
                actions.append(.send(.merkleblock(message)))
                actions += matched.map { .send(.tx($0.serialized)) }
            case .block:
                guard let block = chain.block(item.hash) else {
                    missing.append(item)
                    continue
                }
                actions.append(.send(.other(command: "block", payload: block.serialized)))
            case .transaction:
                guard let tx = chain.mempoolTransaction(item.hash) else {
                    missing.append(item)
                    continue
                }
                actions.append(.send(.tx(tx.serialized)))
            case .error, .confirmedBlock, .address:
                missing.append(item)
            }
        }
        if !missing.isEmpty { actions.append(.send(.notfound(missing))) }
        return actions
    }
}

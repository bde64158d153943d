internal import ElaChain
internal import ElaIdentity
internal import ElaJSON
public import ElaMerkle
public import ElaP2P
internal import ElaStorage
public import ElaWire

/// Why a peer is dropped. Every one of these is the peer's fault (or a broken link), never ours to crash on.
public struct SPVPeerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Misbehaviour points (`PeerScoreboard`): 100 for proven lies (bad proof of work, bad Merkle proof, an
    /// unproven transaction), less for protocol slips, 0 for things that are not the peer's fault.
    public var penalty: Int
    public init(_ message: String, penalty: Int = 100) {
        self.message = message
        self.penalty = penalty
    }
    public var description: String { message }
}

/// What a sync step produced besides messages to send.
public enum SPVEvent: Sendable, Equatable {
    case headerAdded(height: UInt32, hash: Hash256)
    case reorganized(disconnected: Int, connected: Int)
    case anchored(did: String, txid: Hash256, block: Hash256)
}

/// One peer's sync session as a value-type state machine (no I/O): handshake, filter, `getblocks` -> `inv` ->
/// `getdata(filtered block)` -> `merkleblock` + `tx`, exactly as Elastos.ELA.SPV syncs (spv.md 2.3), but every header
/// goes through the full `HeaderChain` rules and every `tx` must be one the last merkleblock proved.
public struct SPVSync: Sendable {
    public enum Phase: Sendable, Equatable { case handshaking, anchoring, syncing, synced }

    public static let protocolVersion: UInt32 = 20000
    static let maxBlocksPerInv = 500

    public private(set) var phase: Phase = .handshaking
    public private(set) var peerVersion: VersionMessage?
    var gotVerack = false
    /// Filtered blocks asked for and not yet received.
    var requested: Set<Hash256> = []
    /// The last merkleblock's matched transactions still to arrive: txid -> position in the block.
    var awaitedTransactions: [Hash256: UInt32] = [:]
    var awaitedBlock: Hash256?
    var lastInvWasFull = false
    let filter: BloomFilter
    let nonce: UInt64

    /// `filter` selects the transactions the peer sends with each block (for the devnet: DID requests by type).
    public init(filter: BloomFilter, nonce: UInt64) {
        self.filter = filter
        self.nonce = nonce
    }

    /// A filter matching every DID request transaction (ELA's TxType rule). A production filter would list only
    /// the 21-byte programs of the watched DIDs; on the devnet every registration is relevant.
    public static func didRequestFilter() -> BloomFilter {
        var f = BloomFilter(elements: 1, falsePositiveRate: 0.0001, tweak: 0, flags: 0)
        f.txTypes = [ChainTransaction.Kind.registerDID.rawValue]
        return f
    }

    /// The first message of an outbound connection.
    public func start(now: UInt32, height: UInt32) -> [P2PMessage] {
        [.version(VersionMessage(version: Self.protocolVersion, services: 0, timestamp: now, port: 0, nonce: nonce, height: UInt64(height), relay: false))]
    }

    /// The peer's height as far as we know it: what its version message said, raised by each block it sent since
    /// that we kept (a peer that mined or heard of blocks after the handshake is not still "at height 0").
    public var peerHeight: UInt64 { max(peerVersion?.height ?? 0, highestKeptBlock) }
    private var highestKeptBlock: UInt64 = 0

    /// Blocks or transactions asked for and not yet received (the stall timeout applies).
    public var isWaiting: Bool { phase == .anchoring || !requested.isEmpty || !awaitedTransactions.isEmpty }

    public mutating func handle(
        _ message: P2PMessage, chain: inout SPVChain, now: UInt32
    ) throws(SPVPeerError) -> (send: [P2PMessage], events: [SPVEvent]) {
        var send: [P2PMessage] = []
        var events: [SPVEvent] = []
        switch message {
        case .version(let v):
            guard peerVersion == nil else { throw SPVPeerError("second version message", penalty: 20) }
            guard v.nonce != nonce else { throw SPVPeerError("connected to ourselves", penalty: 0) }
            peerVersion = v
            send.append(.verack)
        case .verack:
            gotVerack = true
        case .ping(let n):
            send.append(.pong(nonce: n))
        case .pong, .reject, .notfound, .other, .filterclear, .mempool, .getaddr:
            if case .notfound(let items) = message { for item in items { requested.remove(item.hash) } }
        case .inv(let items):
            guard phase != .handshaking && phase != .anchoring else { break }
            let blocks = items.filter { $0.kind == .block || $0.kind == .filteredBlock }.map(\.hash)
            // At most one inv's worth asked for at a time (an inv may list 50 000): the rest is announced again by
            // the getblocks sent once these have come.
            var unknown: [Hash256] = []
            var deferred = false
            for hash in blocks where chain.height(of: hash) == nil && !requested.contains(hash) {
                guard requested.count < Self.maxBlocksPerInv else {
                    deferred = true
                    break
                }
                requested.insert(hash)
                unknown.append(hash)
            }
            // Set here, cleared only by the getblocks it leads to: a one-block announcement arriving meanwhile must
            // not end the catch-up.
            if blocks.count >= Self.maxBlocksPerInv || deferred { lastInvWasFull = true }
            if !unknown.isEmpty {
                phase = .syncing
                send.append(.getdata(unknown.map { InventoryVector(.filteredBlock, $0) }))
            }
        case .merkleblock(let m) where phase == .anchoring:
            // The checkpoint block we asked for: its hash is pinned, so it is trusted as the anchor.
            guard let c = chain.pendingCheckpoint, m.header.hash == c.hash else {
                throw SPVPeerError("expected checkpoint block \(chain.pendingCheckpoint?.hash.displayHex ?? "-"), got \(m.header.hash)")
            }
            let matches: [(index: UInt32, txid: Hash256)]
            do { matches = try m.tree.extractMatches(expectedRoot: m.header.merkleRoot) } catch {
                throw SPVPeerError("invalid Merkle proof for the checkpoint block: \(error)")
            }
            do { try chain.anchor(at: m.header) } catch { throw SPVPeerError("cannot anchor at the checkpoint: \(error)") }
            highestKeptBlock = max(highestKeptBlock, UInt64(m.header.height))
            for match in matches { awaitedTransactions[match.txid] = match.index }
            awaitedBlock = matches.isEmpty ? nil : m.header.hash
            events.append(.headerAdded(height: m.header.height, hash: m.header.hash))
            phase = .syncing
            send.append(.getblocks(locator: chain.locator(), stop: .zero))
            return (send, events)
        case .merkleblock(let m):
            guard awaitedTransactions.isEmpty else {
                throw SPVPeerError("merkleblock before the transactions of the previous one")
            }
            let hash = m.header.hash
            requested.remove(hash)
            let matches: [(index: UInt32, txid: Hash256)]
            do { matches = try m.tree.extractMatches(expectedRoot: m.header.merkleRoot) } catch {
                throw SPVPeerError("invalid Merkle proof for block \(hash): \(error)")
            }
            var kept = true
            do {
                let result = try chain.add(m.header, now: now)
                highestKeptBlock = max(highestKeptBlock, UInt64(m.header.height))
                switch result {
                case .extendedTip: events.append(.headerAdded(height: m.header.height, hash: hash))
                case .reorganized(let d, let c): events.append(.reorganized(disconnected: d.count, connected: c.count))
                case .sideBranch, .duplicate: break
                }
            } catch let e as HeaderRuleError where e.rule == .unknownParent {
                // Out of order (e.g. an announcement while we are behind): not kept, asked for again from our tip.
                // The transactions it proves still come; they are read and dropped.
                send.append(.getblocks(locator: chain.locator(), stop: .zero))
                kept = false
            } catch let e as HeaderRuleError where e.rule == .futureTime {
                // Most likely our clock is behind (a board without a real-time clock, before NTP), not the peer
                // lying: leave it without a penalty, and say what to check. The next connection tries again.
                throw SPVPeerError(
                    "block \(hash) is stamped in the future by this device's clock (\(e.message)); check the clock (timedatectl): "
                        + "a device clock behind the chain stops the sync", penalty: 0)
            } catch let e as HeaderRuleError where e.rule == .sideBranchLimit {
                // Our memory bound, not the peer's fault: the block is not kept, the transactions it proves are
                // read and dropped.
                kept = false
            } catch {
                throw SPVPeerError("block \(hash) broke a chain rule: \(error)")
            }
            for match in matches { awaitedTransactions[match.txid] = match.index }
            awaitedBlock = matches.isEmpty || !kept ? nil : hash
        case .tx(let raw):
            let tx: ChainTransaction
            do { tx = try ChainTransaction(bytes: raw) } catch { throw SPVPeerError("malformed transaction: \(error)") }
            let txid = tx.txid
            guard let position = awaitedTransactions.removeValue(forKey: txid) else {
                throw SPVPeerError("transaction \(txid) was not proven by the last merkleblock")
            }
            // No block: the last merkleblock was not kept, so what it proves is not stored either.
            if let block = awaitedBlock, tx.kind == .registerDID, let text = String(validating: tx.payload, as: UTF8.self),
                case .request(let request)? = try? DIDObject(text: text), let did = try? request.subjectDID()
            {
                do {
                    try chain.store.saveDIDAnchor(
                        StoredDIDAnchor(txid: txid.rawBytes, blockHash: block.rawBytes, position: Int64(position), did: did.description, request: text),
                        chain: chain.chainName)
                } catch {
                    throw SPVPeerError("cannot store DID anchor: \(error)")
                }
                events.append(.anchored(did: did.description, txid: txid, block: block))
            }
            if awaitedTransactions.isEmpty { awaitedBlock = nil }
        case .getblocks, .getdata, .filterload:
            break  // we serve nothing
        }
        if phase == .handshaking, peerVersion != nil, gotVerack {
            // A peer that is not ahead of us may answer getblocks with nothing at all: we are in sync until it
            // announces a block.
            send.append(.filterload(filter))
            if let c = chain.pendingCheckpoint {
                // Start at the newest checkpoint: fetch that block first (its hash is pinned), sync from there.
                phase = .anchoring
                send.append(.getdata([InventoryVector(.filteredBlock, c.hash)]))
            } else {
                phase = UInt64(chain.tip.height) >= peerHeight ? .synced : .syncing
                send.append(.getblocks(locator: chain.locator(), stop: .zero))
            }
        } else if phase == .syncing, requested.isEmpty, awaitedTransactions.isEmpty {
            if lastInvWasFull {
                lastInvWasFull = false
                send.append(.getblocks(locator: chain.locator(), stop: .zero))
            } else {
                phase = .synced
            }
        }
        return (send, events)
    }
}

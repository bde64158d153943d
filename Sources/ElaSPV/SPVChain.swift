public import ElaChain
public import ElaStorage
public import ElaWire

/// The agent's view of the ELA chain: a validated `HeaderChain` of ELA headers, persisted in the agent database
/// (`chain_headers`) and rebuilt (re-validated) from it at start.
public struct SPVChain: Sendable {
    public let parameters: ChainParameters
    public var chainName: String { parameters.name }
    public private(set) var headers: HeaderChain<ELAHeader>
    let store: AgentStore

    /// Height of the trusted first header: 0 (genesis) or a checkpoint the chain was started from.
    public private(set) var anchorHeight: UInt32 = 0
    /// After a failed re-anchoring, the tip height before which it is not tried again.
    var reanchorRetryHeight: UInt32 = 0
    /// The checkpoint to start from instead of genesis, until the chain is anchored there (see `SPVSync`).
    public let startCheckpoint: (height: UInt32, hash: Hash256)?

    /// `fromCheckpoint`: a fresh chain starts at the newest built-in checkpoint (fetched from the peer and checked
    /// against its pinned hash) instead of downloading everything from genesis.
    public init(parameters: ChainParameters, store: AgentStore, fromCheckpoint: Bool = false) throws {
        self.parameters = parameters
        self.store = store
        let genesis = try ELAHeader(bytes: parameters.genesisHeader, withAuxPow: false)
        headers = HeaderChain(parameters: parameters, anchor: genesis, anchorHeight: 0, anchorChainWork: ProofOfWork.work(bits: genesis.bits))
        let newest = parameters.checkpoints.max { $0.key < $1.key }
        startCheckpoint = fromCheckpoint && (newest?.key ?? 0) > 0 ? newest.map { ($0.key, $0.value) } : nil

        let stored = try store.loadHeaders(chain: parameters.name)
        var rest = stored.filter { $0.height > 0 }
        if let text = try store.setting(Self.anchorKey(parameters)), let anchor = Self.parseAnchor(text),
            let row = stored.first(where: { $0.hash == anchor.hash.rawBytes && $0.height == Int64(anchor.height) })
        {
            let header = try ELAHeader(bytes: row.raw, withAuxPow: true)
            headers = HeaderChain(parameters: parameters, anchor: header, anchorHeight: anchor.height, anchorChainWork: .zero)
            anchorHeight = anchor.height
            rest = stored.filter { $0.height > Int64(anchor.height) }
        }
        // Stored headers were valid when stored; re-adding them re-checks every rule except the future-time limit.
        // A side-branch header whose fork point went with a re-anchoring cannot join any more and is skipped.
        for row in rest {
            let header = try ELAHeader(bytes: row.raw, withAuxPow: true)
            do { _ = try headers.add(header, now: UInt32.max - 86_400) } catch { if row.onMainChain { throw error } }
        }
    }

    /// Headers a re-anchoring keeps below the tip: two retarget periods (new headers' difficulty and median-time
    /// checks need their ancestors) and well past the reorganization limit.
    public var reanchorDepth: UInt32 {
        max(2 * parameters.retarget.interval, 4 * parameters.reorgDepthLimit, 64)
    }

    /// Moves the anchor up to `keep` (default ``reanchorDepth``) below the tip once the chain holds twice that, and
    /// forgets the headers below it, in memory and in the store: a long-lived agent's memory, start-up time and
    /// database stay bounded instead of growing by a header every two minutes. The store is rewritten from memory
    /// (main-chain flags included), and DID requests anchored in main-chain blocks below keep their block's height, so
    /// they still count. True when it moved. After a failure it waits for `keep / 8` more blocks before trying again.
    @discardableResult
    public mutating func reanchorIfDeep(keep: UInt32? = nil) throws -> Bool {
        let keep = max(1, keep ?? reanchorDepth)
        guard UInt64(tip.height) >= UInt64(anchorHeight) + 2 * UInt64(keep), tip.height >= reanchorRetryHeight else { return false }
        let height = tip.height - keep
        guard let hash = headers.hash(atHeight: height), let moved = headers.reanchored(atHeight: height) else { return false }
        let mainBelow = stride(from: anchorHeight, to: height, by: 1).compactMap { h in
            headers.hash(atHeight: h).map { (height: Int64(h), hash: $0.rawBytes) }
        }
        let rows = moved.storedHeaders.map { n -> StoredHeader in
            var w = WireWriter()
            n.header.write(to: &w, withAuxPow: true)
            return StoredHeader(
                hash: n.hash.rawBytes, previousHash: n.header.previousHash.rawBytes, height: Int64(n.height),
                chainWork: n.chainWork.bigEndianBytes, raw: w.bytes, onMainChain: n.onMainChain)
        }
        do {
            try store.rewriteHeaders(
                rows, mainBelow: mainBelow, chain: chainName, anchorSetting: (Self.anchorKey(parameters), "\(height) \(hash.rawHex)"),
                now: Int64(headers.header(for: tip.hash)?.timestamp ?? 0))
        } catch {
            // Not on every message: a rebuild is a few thousand header checks.
            reanchorRetryHeight = tip.height + max(1, keep / 8)
            throw error
        }
        headers = moved
        anchorHeight = height
        return true
    }

    /// The checkpoint still to be fetched before syncing (nil once anchored, or when starting from genesis).
    public var pendingCheckpoint: (height: UInt32, hash: Hash256)? {
        guard let c = startCheckpoint, anchorHeight < c.height, tip.height < c.height else { return nil }
        return c
    }

    /// Starts the chain at the checkpoint header (whose hash and height the caller has checked). Work is counted
    /// from here: fork choice only compares branches above the anchor.
    public mutating func anchor(at header: ELAHeader) throws {
        guard let c = pendingCheckpoint, header.hash == c.hash, header.height == c.height else {
            throw SPVPeerError("block \(header.hash) at height \(header.height) is not the checkpoint")
        }
        headers = HeaderChain(parameters: parameters, anchor: header, anchorHeight: c.height, anchorChainWork: .zero)
        anchorHeight = c.height
        var w = WireWriter()
        header.write(to: &w, withAuxPow: true)
        try store.saveHeaders(
            [StoredHeader(hash: c.hash.rawBytes, previousHash: header.previousHash.rawBytes, height: Int64(c.height), chainWork: UInt256.zero.bigEndianBytes, raw: w.bytes, onMainChain: true)],
            chain: chainName)
        try store.setSetting(Self.anchorKey(parameters), "\(c.height) \(c.hash.rawHex)", now: Int64(header.timestamp))
    }

    static func anchorKey(_ p: ChainParameters) -> String { "spv.anchor.\(p.name)" }

    static func parseAnchor(_ text: String) -> (height: UInt32, hash: Hash256)? {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let h = UInt32(parts[0]), let hash = Hash256(rawHex: String(parts[1])) else { return nil }
        return (h, hash)
    }

    public var tip: ChainTip { headers.tip }

    /// Validates and stores a header; the main-chain marks follow reorganizations.
    @discardableResult
    public mutating func add(_ header: ELAHeader, now: UInt32) throws -> AddResult {
        let result = try headers.add(header, now: now)
        let hash = header.hash
        if case .duplicate = result { return result }
        var w = WireWriter()
        header.write(to: &w, withAuxPow: true)
        let work = headers.chainWork(of: hash) ?? .zero
        try store.saveHeaders(
            [StoredHeader(
                hash: hash.rawBytes, previousHash: header.previousHash.rawBytes, height: Int64(header.height),
                chainWork: work.bigEndianBytes, raw: w.bytes, onMainChain: false)],
            chain: chainName)
        switch result {
        case .extendedTip:
            try store.setMainChain(disconnected: [], connected: [hash.rawBytes], chain: chainName)
        case .reorganized(let disconnected, let connected):
            try store.setMainChain(
                disconnected: disconnected.map(\.rawBytes), connected: connected.map(\.rawBytes), chain: chainName)
        default:
            break
        }
        return result
    }

    /// Confirmations of a main-chain block (1 for the tip); nil if the block is unknown or on a side branch.
    public func confirmations(of blockHash: Hash256) -> Int? {
        guard headers.isOnMainChain(blockHash), let h = headers.height(of: blockHash) else { return nil }
        return Int(tip.height) - Int(h) + 1
    }

    /// Where a DID request's block is on the main chain: from the headers, or for a block below the anchor whose
    /// header was pruned, from the height kept with the request. Nil for a side-branch or unknown block.
    public func mainChainPosition(of anchor: StoredDIDAnchor) -> (height: UInt32, confirmations: Int)? {
        let block = Hash256(rawBytes: anchor.blockHash)
        if let c = confirmations(of: block), let h = headers.height(of: block) { return (h, c) }
        guard let kept = anchor.finalHeight, kept >= 0, kept < Int64(anchorHeight) else { return nil }
        return (UInt32(kept), Int(tip.height) - Int(kept) + 1)
    }

    public func height(of blockHash: Hash256) -> UInt32? { headers.height(of: blockHash) }
    public func header(for blockHash: Hash256) -> ELAHeader? { headers.header(for: blockHash) }
    public func locator() -> [Hash256] { headers.locator() }
}

extension UInt256 {
    /// 32 bytes, most significant first (the stored `chain_work`).
    var bigEndianBytes: [UInt8] { Array(littleEndianBytes.reversed()) }
}

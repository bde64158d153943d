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

    public init(parameters: ChainParameters, store: AgentStore) throws {
        self.parameters = parameters
        self.store = store
        let genesis = try ELAHeader(bytes: parameters.genesisHeader, withAuxPow: false)
        headers = HeaderChain(parameters: parameters, anchor: genesis, anchorHeight: 0, anchorChainWork: ProofOfWork.work(bits: genesis.bits))
        // Stored headers were valid when stored; re-adding them re-checks every rule except the future-time limit.
        for stored in try store.loadHeaders(chain: parameters.name) where stored.height > 0 {
            let header = try ELAHeader(bytes: stored.raw, withAuxPow: true)
            _ = try headers.add(header, now: UInt32.max - 86_400)
        }
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

    public func height(of blockHash: Hash256) -> UInt32? { headers.height(of: blockHash) }
    public func header(for blockHash: Hash256) -> ELAHeader? { headers.header(for: blockHash) }
    public func locator() -> [Hash256] { headers.locator() }
}

extension UInt256 {
    /// 32 bytes, most significant first (the stored `chain_work`).
    var bigEndianBytes: [UInt8] { Array(littleEndianBytes.reversed()) }
}

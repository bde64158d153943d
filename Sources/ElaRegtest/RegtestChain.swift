public import ElaChain
public import ElaWire
internal import ElaMerkle

/// What adding one block did.
public struct BlockAddition: Sendable, Equatable {
    public var block: ChainBlock
    public var hash: Hash256
    public var height: UInt32
    /// `HeaderChain`'s verdict: extended the tip, stored on a side branch, reorganized, or already known.
    public var result: AddResult

    /// Whether the best tip moved (extension or reorganization).
    public var movedTip: Bool {
        switch result {
        case .extendedTip, .reorganized: true
        case .sideBranch, .duplicate: false
        }
    }
}

/// The regtest node's chain: every block on every branch (headers validated by `HeaderChain`, bodies checked
/// against their Merkle root), most-work fork choice, and the mempool of DID request transactions.
/// A value type without I/O or clock: callers pass "now" and persist what `BlockAddition` reports.
public struct RegtestChain: Sendable {
    public let parameters: ChainParameters
    public private(set) var headers: HeaderChain<ELAHeader>
    var blocks: [Hash256: ChainBlock] = [:]
    /// Pending DID request transactions, oldest first.
    public private(set) var mempool: [ChainTransaction] = []
    var mempoolIDs: Set<Hash256> = []

    /// An empty chain at the genesis of `parameters` (which must be an ELA chain).
    public init(parameters: ChainParameters = .elaRegnet) throws(RegtestError) {
        guard let genesis = parameters.elaGenesis else {
            throw RegtestError(.invalidBlock, "\(parameters.name) has no ELA genesis header")
        }
        self.parameters = parameters
        headers = HeaderChain(
            parameters: parameters, anchor: genesis, anchorHeight: 0, anchorChainWork: ProofOfWork.work(bits: genesis.bits))
    }

    // MARK: Queries

    public var tip: ChainTip { headers.tip }
    public var genesisHash: Hash256 { parameters.genesisHash }
    /// Blocks stored on all branches (genesis excluded: its body is not part of the regtest format).
    public var blockCount: Int { blocks.count }

    /// A block on any branch.
    public func block(_ hash: Hash256) -> ChainBlock? { blocks[hash] }

    /// The main-chain block at `height` (nil for genesis and above the tip).
    public func block(atHeight height: UInt32) -> ChainBlock? { headers.hash(atHeight: height).flatMap { blocks[$0] } }

    public func isOnMainChain(_ hash: Hash256) -> Bool { headers.isOnMainChain(hash) }

    public func mempoolTransaction(_ txid: Hash256) -> ChainTransaction? {
        guard mempoolIDs.contains(txid) else { return nil }
        return mempool.first { $0.txid == txid }
    }

    /// Main-chain hashes following the first `locator` hash found on the main chain (genesis if none is), up to
    /// `limit` of them, ending early at `stop` (included) — the answer to `getblocks`.
    public func mainChainHashes(after locator: [Hash256], stop: Hash256, limit: Int) -> [Hash256] {
        let start = locator.first(where: { headers.isOnMainChain($0) }).flatMap { headers.height(of: $0) } ?? 0
        var result: [Hash256] = []
        var height = start
        while result.count < limit, height < tip.height {
            height += 1
            guard let hash = headers.hash(atHeight: height) else { break }
            result.append(hash)
            if hash == stop { break }
        }
        return result
    }

    /// Where a transaction is: its main-chain block, or nil (check `mempoolTransaction` for pending ones).
    /// A scan from the tip down: regtest chains are small, and this serves only the control socket.
    public func confirmedTransaction(_ txid: Hash256) -> (block: Hash256, height: UInt32)? {
        var height = tip.height
        while height > 0 {
            if let hash = headers.hash(atHeight: height), let block = blocks[hash], block.txids.contains(txid) {
                return (hash, height)
            }
            height -= 1
        }
        return nil
    }

    // MARK: Changes

    /// Validates `block` (header rules through `HeaderChain`, then the body: one leading coinbase carrying the
    /// height, a Merkle root that matches and is not mutated) and adds it. Transactions the block confirms leave
    /// the mempool; on a reorganization the DID transactions of disconnected blocks that the new branch lacks
    /// return to it. On failure nothing changes.
    @discardableResult
    public mutating func add(_ block: ChainBlock, now: UInt32) throws(RegtestError) -> BlockAddition {
        let header = block.header
        try Self.checkBody(block)
        let result: AddResult
        do { result = try headers.add(header, now: now) } catch {
            throw RegtestError(.invalidBlock, "block at height \(header.height) rejected: \(error.description)")
        }
        let hash = header.hash
        let addition = BlockAddition(block: block, hash: hash, height: header.height, result: result)
        switch result {
        case .duplicate, .sideBranch:
            if blocks[hash] == nil { blocks[hash] = block }
        case .extendedTip:
            blocks[hash] = block
            removeFromMempool(block.txids)
        case .reorganized(let disconnected, let connected):
            blocks[hash] = block
            let connectedIDs = Set(connected.compactMap { blocks[$0] }.flatMap(\.txids))
            let returning = disconnected.reversed().compactMap { blocks[$0] }.flatMap(\.transactions)
                .filter { $0.kind != .coinbase && !connectedIDs.contains($0.txid) }
            removeFromMempool(Array(connectedIDs))
            let pending = mempool
            mempool = []
            mempoolIDs = []
            for tx in returning + pending { _ = addToMempool(tx) }
        }
        return addition
    }

    /// Adds a transaction to the mempool; returns its txid and whether it was new.
    @discardableResult
    public mutating func addToMempool(_ tx: ChainTransaction) -> (txid: Hash256, isNew: Bool) {
        let txid = tx.txid
        guard !mempoolIDs.contains(txid) else { return (txid, false) }
        mempool.append(tx)
        mempoolIDs.insert(txid)
        return (txid, true)
    }

    mutating func removeFromMempool(_ txids: [Hash256]) {
        let gone = Set(txids).intersection(mempoolIDs)
        guard !gone.isEmpty else { return }
        mempool.removeAll { gone.contains($0.txid) }
        mempoolIDs.subtract(gone)
    }

    static func checkBody(_ block: ChainBlock) throws(RegtestError) {
        let height = block.header.height
        guard let coinbase = block.transactions.first, coinbase.kind == .coinbase else {
            throw RegtestError(.invalidBlock, "block at height \(height) does not start with a coinbase transaction")
        }
        guard coinbase.payload == Coinbase.heightPayload(height) else {
            throw RegtestError(.invalidBlock, "coinbase of block \(height) does not carry its height")
        }
        guard !block.transactions.dropFirst().contains(where: { $0.kind == .coinbase }) else {
            throw RegtestError(.invalidBlock, "block at height \(height) has more than one coinbase transaction")
        }
        let (root, mutated) = MerkleTree.rootDetectingMutation(of: block.txids)
        guard root == block.header.merkleRoot, !mutated else {
            throw RegtestError(
                .invalidBlock,
                "block at height \(height): Merkle root \(block.header.merkleRoot.displayHex) does not match its "
                    + "transactions (\(root.displayHex)\(mutated ? ", duplicated txids" : ""))")
        }
    }
}

/// The coinbase of a regtest block: payload = height (u32 LE), zero program hash, a random nonce so that
/// competing blocks at one height differ.
enum Coinbase {
    static func heightPayload(_ height: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: height >> (8 * UInt32($0))) }
    }

    static func transaction(height: UInt32, nonce: UInt64) -> ChainTransaction {
        ChainTransaction(
            kind: .coinbase, payload: heightPayload(height),
            programHash: [UInt8](repeating: 0, count: ChainTransaction.programHashSize), nonce: nonce)
    }
}

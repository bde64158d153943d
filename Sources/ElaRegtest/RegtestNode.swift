public import ElaChain
public import ElaJSON
public import ElaWire
public import Logging

/// The running node: the chain, its store, and the connected P2P peers. Every change is written to the store
/// before the in-memory chain takes it (a failed write leaves both as they were); a new best block is
/// announced to every handshaken peer.
public actor RegtestNode {
    /// Unix seconds; injectable so tests can mine at chosen times.
    public typealias Clock = @Sendable () -> UInt32

    /// Most blocks one `mine` or `fork` call may create.
    public static let maxBlocksPerCall = 10_000

    let store: BlockStore
    let clock: Clock
    let logger: Logger
    var chain: RegtestChain
    /// The bound P2P port, announced in our `version`.
    public private(set) var listeningPort: UInt16 = 0
    var peers: [Int: ConnectedPeer] = [:]
    var nextPeerID = 1

    /// Loads the chain from `store`, re-validating every block (so a corrupt file is refused, not served).
    public init(
        store: BlockStore, parameters: ChainParameters = .elaRegnet, clock: @escaping Clock, logger: Logger
    ) throws(RegtestError) {
        self.store = store
        self.clock = clock
        self.logger = logger
        let (rows, mempool) = try store.load()
        var chain = try RegtestChain(parameters: parameters)
        let now = clock()
        for (block, _) in rows { try chain.add(block, now: max(now, block.header.timestamp)) }
        for tx in mempool { chain.addToMempool(tx) }
        let stored = Set(rows.filter(\.main).map { $0.block.header.hash })
        let replayed = Set(rows.map { $0.block.header.hash }.filter { chain.isOnMainChain($0) })
        if stored != replayed {
            logger.warning("main-chain flags in the store disagree with the replayed chain; rewriting them")
            try store.setMainChain(replayed)
        }
        self.chain = chain
    }

    // MARK: Chain

    public var tip: ChainTip { chain.tip }
    /// A copy of the chain (cheap: copy-on-write) for inspection.
    public var chainSnapshot: RegtestChain { chain }

    /// Mines `count` blocks on the tip; the first takes the mempool. Returns the new blocks' hashes.
    public func mine(count: Int) throws(RegtestError) -> [Hash256] {
        try checkCount(count)
        return try apply { (next: inout RegtestChain) throws(RegtestError) -> [BlockAddition] in
            var added: [BlockAddition] = []
            for _ in 0..<count { added.append(try next.mineBlock(now: clock(), coinbaseNonce: .random(in: 0 ... .max))) }
            return added
        }.map(\.hash)
    }

    /// Mines `count` coinbase-only blocks on the main-chain block at `height`: a competing branch, which
    /// becomes the main chain if it ends with more work than the current tip.
    public func fork(fromHeight height: UInt32, count: Int) throws(RegtestError) -> [Hash256] {
        try checkCount(count)
        guard let base = chain.headers.hash(atHeight: height) else {
            throw RegtestError(.invalidRequest, "no main-chain block at height \(height) (the tip is at \(chain.tip.height))")
        }
        return try apply { (next: inout RegtestChain) throws(RegtestError) -> [BlockAddition] in
            var added: [BlockAddition] = []
            var parent = base
            for _ in 0..<count {
                let a = try next.mineBlock(on: parent, transactions: [], now: clock(), coinbaseNonce: .random(in: 0 ... .max))
                added.append(a)
                parent = a.hash
            }
            return added
        }.map(\.hash)
    }

    /// Adds the ID-chain request `request` (a JSON object) to the mempool and returns its txid; submitting a
    /// request that is already pending returns the pending transaction's txid.
    public func submit(request: JSONValue) throws(RegtestError) -> Hash256 {
        let tx = try DIDRequestTransaction.make(request: request, nonce: .random(in: 0 ... .max))
        if let pending = chain.mempool.first(where: { $0.payload == tx.payload }) { return pending.txid }
        var next = chain
        let txid = next.addToMempool(tx).txid
        try store.record([], mempool: next.mempool)
        chain = next
        logger.info("accepted DID request", metadata: ["txid": "\(txid.displayHex)"])
        return txid
    }

    /// Adds a DID-request transaction relayed by a peer, unchanged (so its txid is the sender's), after checking
    /// that it carries an ID-chain request and the subject DID's program.
    public func submit(transaction tx: ChainTransaction) throws(RegtestError) -> Hash256 {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: tx.payload) } catch {
            throw RegtestError(.invalidRequest, "transaction payload is not JSON: \(error)")
        }
        let expected = try DIDRequestTransaction.make(request: json, nonce: tx.nonce)
        guard expected.programHash == tx.programHash else {
            throw RegtestError(.invalidRequest, "transaction program does not match the request's DID")
        }
        if chain.mempool.contains(where: { $0.txid == tx.txid }) { return tx.txid }
        var next = chain
        let txid = next.addToMempool(tx).txid
        try store.record([], mempool: next.mempool)
        chain = next
        logger.info("accepted relayed DID request", metadata: ["txid": "\(txid.displayHex)"])
        return txid
    }

    func checkCount(_ count: Int) throws(RegtestError) {
        guard count >= 1, count <= Self.maxBlocksPerCall else {
            throw RegtestError(.invalidRequest, "block count must be between 1 and \(Self.maxBlocksPerCall), got \(count)")
        }
    }

    /// Runs `change` on a copy of the chain, stores what it added, then adopts the copy and announces a new tip.
    func apply(_ change: (inout RegtestChain) throws(RegtestError) -> [BlockAddition]) throws(RegtestError) -> [BlockAddition] {
        var next = chain
        let added = try change(&next)
        try store.record(added, mempool: next.mempool)
        let oldTip = chain.tip
        chain = next
        for a in added {
            if case .reorganized(let gone, let new) = a.result {
                logger.notice(
                    "reorganized", metadata: ["disconnected": "\(gone.count)", "connected": "\(new.count)", "height": "\(a.height)"])
            }
        }
        if chain.tip.hash != oldTip.hash {
            logger.info("new tip", metadata: ["height": "\(chain.tip.height)", "hash": "\(chain.tip.hash.displayHex)"])
            announce(chain.tip.hash)
        }
        return added
    }

    func setListeningPort(_ port: UInt16) { listeningPort = port }
}

import ElaSQLite

/// A DID request transaction seen in a block (any branch): which block, where in it, and the request JSON.
public struct StoredDIDAnchor: Sendable, Equatable {
    public var txid: [UInt8]
    public var blockHash: [UInt8]
    /// Index of the transaction in its block (orders several requests in one block).
    public var position: Int64
    public var did: String
    public var request: String
    /// The block's main-chain height once the block fell below the chain's anchor and its header was pruned
    /// (``AgentStore/rewriteHeaders(_:mainBelow:chain:anchorSetting:now:)``); nil while the header is kept.
    public var finalHeight: Int64?

    public init(txid: [UInt8], blockHash: [UInt8], position: Int64, did: String, request: String, finalHeight: Int64? = nil) {
        self.txid = txid
        self.blockHash = blockHash
        self.position = position
        self.did = did
        self.request = request
        self.finalHeight = finalHeight
    }
}

extension AgentStore {
    public func saveDIDAnchor(_ anchor: StoredDIDAnchor, chain: String) throws {
        try database.write { db in
            try db.run(
                """
                INSERT INTO did_anchors (chain, txid, block_hash, position, did, request) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (chain, txid, block_hash) DO NOTHING
                """, chain, anchor.txid, anchor.blockHash, anchor.position, anchor.did, anchor.request)
        }
    }

    /// Every anchor of `did` on any branch; the chain module decides which are on the main chain.
    public func didAnchors(_ did: String, chain: String) throws -> [StoredDIDAnchor] {
        try database.read { db in
            try db.query(
                "SELECT txid, block_hash, position, did, request, height FROM did_anchors WHERE chain = ? AND did = ?", chain, did
            ) { row in
                StoredDIDAnchor(
                    txid: try row["txid"], blockHash: try row["block_hash"], position: try row["position"], did: try row["did"],
                    request: try row["request"], finalHeight: try row["height"])
            }
        }
    }

    /// The DIDs with at least one anchor, sorted.
    public func anchoredDIDs(chain: String) throws -> [String] {
        try database.read { db in
            try db.query("SELECT DISTINCT did FROM did_anchors WHERE chain = ? ORDER BY did", chain) { try $0["did", as: String.self] }
        }
    }
}

import ElaSQLite

/// One stored block header. Hashes are 32 raw bytes; `chainWork` is 32 bytes big-endian; `raw` is the header's
/// own serialization (for ELA including AuxPoW), so the chain module can rebuild it without re-downloading.
public struct StoredHeader: Sendable, Equatable {
    public var hash: [UInt8]
    public var previousHash: [UInt8]
    public var height: Int64
    public var chainWork: [UInt8]
    public var raw: [UInt8]
    public var onMainChain: Bool

    public init(hash: [UInt8], previousHash: [UInt8], height: Int64, chainWork: [UInt8], raw: [UInt8], onMainChain: Bool) {
        self.hash = hash
        self.previousHash = previousHash
        self.height = height
        self.chainWork = chainWork
        self.raw = raw
        self.onMainChain = onMainChain
    }
}

extension AgentStore {
    /// Saves headers in one transaction (a batch per sync round trip keeps commits cheap); known ones are kept.
    public func saveHeaders(_ headers: [StoredHeader], chain: String) throws {
        try database.write { db in try Self.insertHeaders(headers, chain: chain, in: db) }
    }

    /// Inserts headers; known ones are kept.
    private static func insertHeaders(_ headers: [StoredHeader], chain: String, in db: SQLiteConnection) throws {
        let insert = try db.prepare(
            """
            INSERT INTO chain_headers (chain, hash, previous_hash, height, chain_work, raw, main)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chain, hash) DO NOTHING
            """)
        for h in headers {
            insert.reset()
            try insert.bind([chain, h.hash, h.previousHash, h.height, h.chainWork, h.raw, h.onMainChain])
            try insert.execute()
        }
    }

    /// Moves the main-chain marks after a reorganization (or plain extension), atomically.
    public func setMainChain(disconnected: [[UInt8]], connected: [[UInt8]], chain: String) throws {
        try database.write { db in
            let mark = try db.prepare("UPDATE chain_headers SET main = ? WHERE chain = ? AND hash = ?")
            for (hashes, flag) in [(disconnected, false), (connected, true)] {
                for h in hashes {
                    mark.reset()
                    try mark.bind([flag, chain, h])
                    try mark.execute()
                }
            }
        }
    }

    /// Every stored header of `chain`, lowest height first (main chain before side branches at equal height).
    public func loadHeaders(chain: String) throws -> [StoredHeader] {
        try database.read { db in
            try db.query(
                "SELECT hash, previous_hash, height, chain_work, raw, main FROM chain_headers WHERE chain = ? ORDER BY height, main DESC",
                chain
            ) { row in
                StoredHeader(
                    hash: try row["hash"], previousHash: try row["previous_hash"], height: try row["height"],
                    chainWork: try row["chain_work"], raw: try row["raw"], onMainChain: try row["main"])
            }
        }
    }

    /// Rewrites `chain`'s stored headers as `headers` (the in-memory chain after a re-anchoring: its new anchor and
    /// everything above, main-chain flags as memory has them), in one transaction with the new anchor setting. DID
    /// anchors in the main-chain blocks `mainBelow` (height, hash: from memory, not from stored flags) keep their
    /// block's height; any other anchor whose block is no longer stored goes (a side branch: it can never count).
    public func rewriteHeaders(
        _ headers: [StoredHeader], mainBelow: [(height: Int64, hash: [UInt8])], chain: String, anchorSetting: (key: String, value: String),
        now: Int64
    ) throws {
        try database.write { db in
            let final = try db.prepare("UPDATE did_anchors SET height = ? WHERE chain = ? AND block_hash = ? AND height IS NULL")
            for b in mainBelow {
                final.reset()
                try final.bind([b.height, chain, b.hash])
                try final.execute()
            }
            try db.run("DELETE FROM chain_headers WHERE chain = ?", chain)
            try Self.insertHeaders(headers, chain: chain, in: db)
            try db.run(
                "DELETE FROM did_anchors WHERE chain = ?1 AND height IS NULL AND block_hash NOT IN (SELECT hash FROM chain_headers WHERE chain = ?1)",
                chain)
            try Self.setSetting(anchorSetting.key, anchorSetting.value, now: now, in: db)
        }
    }

    public func headerCount(chain: String) throws -> Int {
        try database.read { db in
            try db.query("SELECT COUNT(*) AS n FROM chain_headers WHERE chain = ?", chain) { try $0["n", as: Int.self] }.first ?? 0
        }
    }

    /// The main-chain tip: highest main-chain header.
    public func mainChainTip(chain: String) throws -> StoredHeader? {
        try database.read { db in
            try db.query(
                "SELECT hash, previous_hash, height, chain_work, raw, main FROM chain_headers WHERE chain = ? AND main = 1 ORDER BY height DESC LIMIT 1",
                chain
            ) { row in
                StoredHeader(
                    hash: try row["hash"], previousHash: try row["previous_hash"], height: try row["height"],
                    chainWork: try row["chain_work"], raw: try row["raw"], onMainChain: try row["main"])
            }.first
        }
    }
}

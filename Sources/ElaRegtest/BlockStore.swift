public import ElaChain
internal import ElaSQLite
public import ElaWire

/// The node's SQLite file (`<data-dir>/chain.db`, WAL): every block on every branch with its main-chain flag,
/// and the mempool, so a restart resumes exactly where the node stopped.
public final class BlockStore: Sendable {
    public static let fileName = "chain.db"

    static let migrations = SQLiteMigrator([
        SQLiteMigration(
            version: 1, name: "blocks and mempool",
            sql: """
                CREATE TABLE blocks (
                    hash BLOB NOT NULL PRIMARY KEY,
                    height INTEGER NOT NULL,
                    prev BLOB NOT NULL,
                    raw BLOB NOT NULL,
                    main INTEGER NOT NULL
                );
                CREATE INDEX blocks_by_height ON blocks (height);
                CREATE TABLE mempool (
                    position INTEGER PRIMARY KEY,
                    txid BLOB NOT NULL UNIQUE,
                    raw BLOB NOT NULL
                );
                """),
    ])

    let database: SQLiteDatabase
    public var path: String { database.path }

    /// Opens (creating and migrating) the store at `path`.
    public init(path: String) throws(RegtestError) {
        do {
            database = try SQLiteDatabase(path: path)
            try database.migrate(Self.migrations)
        } catch {
            throw RegtestError(.storage, "cannot open the chain database \(path): \(error)")
        }
    }

    public func close() { database.close() }

    /// Every stored block in the order to replay it: by height, then in the order it was first stored (so
    /// most-work-first-seen fork choice picks the same tip again), and the mempool, oldest first.
    public func load() throws(RegtestError) -> (blocks: [(block: ChainBlock, main: Bool)], mempool: [ChainTransaction]) {
        let rows: (blocks: [([UInt8], Bool)], mempool: [[UInt8]])
        do {
            rows = try database.read { db in
                let blocks = try db.query("SELECT raw, main FROM blocks ORDER BY height, rowid") { row in
                    (try row[0, as: [UInt8].self], try row[1, as: Bool.self])
                }
                let mempool = try db.query("SELECT raw FROM mempool ORDER BY position") { row in try row[0, as: [UInt8].self] }
                return (blocks, mempool)
            }
        } catch {
            throw RegtestError(.storage, "cannot read \(path): \(error)")
        }
        var blocks: [(ChainBlock, Bool)] = []
        blocks.reserveCapacity(rows.blocks.count)
        for (i, (raw, main)) in rows.blocks.enumerated() {
            do { blocks.append((try ChainBlock(bytes: raw), main)) } catch {
                throw RegtestError(.storage, "block row \(i + 1) in \(path) does not decode: \(error)")
            }
        }
        var mempool: [ChainTransaction] = []
        for (i, raw) in rows.mempool.enumerated() {
            do { mempool.append(try ChainTransaction(bytes: raw)) } catch {
                throw RegtestError(.storage, "mempool row \(i + 1) in \(path) does not decode: \(error)")
            }
        }
        return (blocks, mempool)
    }

    /// Records a batch of additions (in the order they were made) and replaces the stored mempool, in one
    /// transaction: new blocks are inserted, and a reorganization moves the main-chain flags.
    public func record(_ additions: [BlockAddition], mempool: [ChainTransaction]) throws(RegtestError) {
        let rows = additions.map { a -> StoredBlock in
            var disconnected: [[UInt8]] = []
            var connected: [[UInt8]] = []
            if case .reorganized(let d, let c) = a.result {
                disconnected = d.map(\.rawBytes)
                connected = c.map(\.rawBytes)
            }
            return StoredBlock(
                hash: a.hash.rawBytes, height: Int64(a.height), previous: a.block.header.previousHash.rawBytes,
                raw: a.block.serialized, main: a.result == .extendedTip,
                isDuplicate: a.result == .duplicate, disconnected: disconnected, connected: connected)
        }
        let pending = mempool.map { ($0.txid.rawBytes, $0.serialized) }
        do {
            try database.write { db in
                let insert = try db.prepare(
                    "INSERT INTO blocks (hash, height, prev, raw, main) VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING")
                let mark = try db.prepare("UPDATE blocks SET main = ? WHERE hash = ?")
                for row in rows where !row.isDuplicate {
                    insert.reset()
                    try insert.bind([row.hash, row.height, row.previous, row.raw, row.main])
                    try insert.execute()
                    for (hashes, flag) in [(row.disconnected, false), (row.connected, true)] {
                        for hash in hashes {
                            mark.reset()
                            try mark.bind([flag, hash])
                            try mark.execute()
                        }
                    }
                }
                try db.execute("DELETE FROM mempool")
                let add = try db.prepare("INSERT INTO mempool (txid, raw) VALUES (?, ?)")
                for (txid, raw) in pending {
                    add.reset()
                    try add.bind([txid, raw])
                    try add.execute()
                }
            }
        } catch {
            throw RegtestError(.storage, "cannot write to \(path): \(error)")
        }
    }

    /// Sets the main-chain flags to exactly `mainHashes` (after a load whose replay disagreed with the file).
    public func setMainChain(_ mainHashes: Set<Hash256>) throws(RegtestError) {
        let main = mainHashes.map(\.rawBytes)
        do {
            try database.write { db in
                try db.execute("UPDATE blocks SET main = 0")
                let mark = try db.prepare("UPDATE blocks SET main = 1 WHERE hash = ?")
                for hash in main {
                    mark.reset()
                    try mark.bind([hash])
                    try mark.execute()
                }
            }
        } catch {
            throw RegtestError(.storage, "cannot write to \(path): \(error)")
        }
    }
}

private struct StoredBlock: Sendable {
    var hash: [UInt8]
    var height: Int64
    var previous: [UInt8]
    var raw: [UInt8]
    var main: Bool
    var isDuplicate: Bool
    var disconnected: [[UInt8]]
    var connected: [[UInt8]]
}

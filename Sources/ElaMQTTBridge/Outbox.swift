import ElaSQLite

/// The outbox could not be opened or written; `path` names the database.
public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "outbox \(path): \(message)" }
}

/// One message waiting for the broker.
public struct OutboxMessage: Sendable, Equatable {
    public var seq: Int64
    public var topic: String
    public var payload: [UInt8]
    public var createdMs: Int64
    public var retain: Bool
}

/// A message to add; `source` is the host's (epoch, sequence) for the event, so a redelivery after a crash is skipped.
public struct OutboxEntry: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var createdMs: Int64
    public var retain: Bool
    public var source: EventSource?

    public init(topic: String, payload: [UInt8], createdMs: Int64, retain: Bool = false, source: EventSource? = nil) {
        self.topic = topic
        self.payload = payload
        self.createdMs = createdMs
        self.retain = retain
        self.source = source
    }
}

/// Where an event came from in the host's delivery stream (`ela.event`): the relay's epoch and sequence number.
public struct EventSource: Sendable, Equatable {
    public var epoch: String
    public var seq: Int64
    public init(epoch: String, seq: Int64) {
        self.epoch = epoch
        self.seq = seq
    }
}

/// Counters kept in the database, so they survive restarts.
public struct OutboxCounters: Sendable, Equatable {
    /// Messages stored.
    public var accepted: Int64 = 0
    /// Messages the broker acknowledged (and that left the outbox).
    public var sent: Int64 = 0
    /// Messages removed unsent because the outbox was full.
    public var dropped: Int64 = 0
    /// Messages sent again after a restart that may have reached the broker before it (at-least-once).
    public var duplicates: Int64 = 0
    /// Host redeliveries already in the outbox, skipped.
    public var redeliveriesSkipped: Int64 = 0
}

public struct OutboxStats: Sendable, Equatable {
    public var depth: Int
    public var bytes: Int
    public var oldestCreatedMs: Int64?
    /// Handed to the MQTT client, waiting for PUBACK.
    public var inFlight: Int
    public var counters: OutboxCounters
    /// Transactions since the outbox opened (each rewrites a few pages: what the SD card sees).
    public var transactions = 0
}

/// What one `commit` did.
public struct OutboxCommit: Sendable, Equatable {
    /// Messages to hand to the client now, in sequence order (already marked as attempted in the database).
    public var taken: [OutboxMessage] = []
    /// Removed by the full policy in this commit.
    public var dropped = 0
    /// The newest host event now safely stored (what the host may forget).
    public var storedSource: EventSource?
}

/// The durable store-and-forward queue: SQLite in WAL mode, one transaction per batch (new messages, PUBACKed
/// messages removed, the next messages marked and taken). A message leaves only after its PUBACK; the sequence
/// number orders everything, so order per topic holds. Bounded by count and bytes; the full policy drops
/// (and counts) messages not yet handed to the client. Used by one thread.
public final class Outbox {
    public let path: String
    public private(set) var limits: (maxMessages: Int, maxBytes: Int, policy: OutboxFullPolicy)
    private let db: SQLiteConnection
    private let insert: SQLiteStatement
    private let delete: SQLiteStatement
    private let next: SQLiteStatement
    private let bump: SQLiteStatement
    private let setMeta: SQLiteStatement
    private var counters = OutboxCounters()
    private var count = 0
    private var bytes = 0
    /// Highest sequence handed to the client in this process; everything above waits.
    private var cursor: Int64 = 0
    /// Handed and not yet acknowledged: sequence -> payload size.
    private var handed: [Int64: Int] = [:]
    private var source: EventSource?
    private var transactions = 0
    /// PUBACKed, still stored: the next commit removes them (see ``acknowledge(_:)``).
    private var acknowledged: [Int64] = []

    public init(path: String, maxMessages: Int, maxBytes: Int, policy: OutboxFullPolicy) throws(OutboxError) {
        self.path = path
        limits = (max(1, maxMessages), max(1, maxBytes), policy)
        do {
            db = try SQLiteConnection(path: path)
            try db.execute(
                """
                CREATE TABLE IF NOT EXISTS outbox(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
                    created_ms INTEGER NOT NULL, retain INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                """)
            insert = try db.prepare("INSERT INTO outbox(topic, payload, created_ms, retain) VALUES (?, ?, ?, ?)")
            delete = try db.prepare("DELETE FROM outbox WHERE seq = ?")
            next = try db.prepare("SELECT seq, topic, payload, created_ms, retain FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?")
            bump = try db.prepare("UPDATE outbox SET attempts = attempts + 1 WHERE seq > ? AND seq <= ?")
            setMeta = try db.prepare("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            try load()
        } catch let e as SQLiteError {
            throw OutboxError(path: path, message: e.description)
        } catch {
            throw OutboxError(path: path, message: "\(error)")
        }
    }

    deinit { db.close() }

    private func load() throws {
        let meta = try db.query("SELECT key, value FROM meta") { row -> (String, SQLiteValue) in (try row[0], try row[1]) }
        var epoch: String?
        var seq: Int64?
        for (key, value) in meta {
            let n: Int64 = if case .integer(let i) = value { i } else { 0 }
            switch key {
            case "accepted": counters.accepted = n
            case "sent": counters.sent = n
            case "dropped": counters.dropped = n
            case "duplicates": counters.duplicates = n
            case "redeliveries_skipped": counters.redeliveriesSkipped = n
            case "source_epoch": if case .text(let t) = value { epoch = t }
            case "source_seq": seq = n
            default: break
            }
        }
        if let epoch, let seq { source = EventSource(epoch: epoch, seq: seq) }
        let totals = try db.query("SELECT count(*), coalesce(sum(length(payload)), 0), coalesce(sum(attempts > 0), 0) FROM outbox") { row in
            (Int(try row[0, as: Int64.self]), Int(try row[1, as: Int64.self]), try row[2, as: Int64.self])
        }
        count = totals.first?.0 ?? 0
        bytes = totals.first?.1 ?? 0
        // Attempted before the restart: they will go out again and may already have reached the broker.
        let attempted = totals.first?.2 ?? 0
        if attempted > 0 {
            counters.duplicates += attempted
            try db.transaction { try writeCounters() }
        }
    }

    private func writeCounters() throws {
        for (key, value) in [
            ("accepted", counters.accepted), ("sent", counters.sent), ("dropped", counters.dropped),
            ("duplicates", counters.duplicates), ("redeliveries_skipped", counters.redeliveriesSkipped),
        ] {
            try setMeta.bind([key, value])
            try setMeta.execute()
        }
        if let source {
            try setMeta.bind(["source_epoch", source.epoch])
            try setMeta.execute()
            try setMeta.bind(["source_seq", source.seq])
            try setMeta.execute()
        }
    }

    /// One transaction: remove `delivered` (PUBACKed sequence numbers), add `entries` (skipping host redeliveries
    /// already stored), apply the full policy, and take up to `take` further messages for the client.
    public func commit(entries: [OutboxEntry], delivered: [Int64], take: Int) throws(OutboxError) -> OutboxCommit {
        var result = OutboxCommit()
        transactions += 1
        // What the transaction changes in memory, restored if it rolls back: otherwise a failed commit would leave
        // acknowledged rows unremovable, messages taken but never sent, and a source mark past events not stored
        // (the host would then forget them).
        let before = (count, bytes, counters, source, cursor, handed)
        do {
            try db.transaction {
                // Acknowledged ones were counted as sent when acknowledged.
                for (seq, counted) in delivered.map({ ($0, false) }) + acknowledged.map({ ($0, true) }) {
                    guard let size = handed.removeValue(forKey: seq) else { continue }
                    try delete.bind([seq])
                    try delete.execute()
                    if db.changes > 0 {
                        count -= 1
                        bytes -= size
                        if !counted { counters.sent += 1 }
                    }
                }
                for e in entries {
                    if let s = e.source, let stored = source, s.epoch == stored.epoch, s.seq <= stored.seq {
                        counters.redeliveriesSkipped += 1
                        continue
                    }
                    if let s = e.source { source = s }
                    if limits.policy == .dropNewest && (count + 1 > limits.maxMessages || bytes + e.payload.count > limits.maxBytes) {
                        counters.dropped += 1
                        result.dropped += 1
                        continue
                    }
                    try insert.bind([e.topic, e.payload, e.createdMs, e.retain])
                    try insert.execute()
                    count += 1
                    bytes += e.payload.count
                    counters.accepted += 1
                }
                if limits.policy == .dropOldest { result.dropped += try dropOldest() }
                if take > 0 {
                    try next.bind([cursor, Int64(take)])
                    result.taken = try next.map { row in
                        OutboxMessage(seq: try row[0], topic: try row[1], payload: try row[2], createdMs: try row[3], retain: try row[4, as: Int64.self] != 0)
                    }
                    if let last = result.taken.last {
                        try bump.bind([cursor, last.seq])
                        try bump.execute()
                        cursor = last.seq
                        for m in result.taken { handed[m.seq] = m.payload.count }
                    }
                }
                try writeCounters()
            }
        } catch {
            (count, bytes, counters, source, cursor, handed) = before
            if let e = error as? SQLiteError { throw OutboxError(path: path, message: e.description) }
            throw OutboxError(path: path, message: "\(error)")
        }
        acknowledged = []
        result.storedSource = source
        return result
    }

    /// PUBACKed messages, removed by the next ``commit(entries:delivered:take:)`` without a transaction of their own.
    /// Until then they are stored but no longer count as waiting or in flight.
    public func acknowledge(_ delivered: [Int64]) {
        for seq in delivered where handed[seq] != nil {
            acknowledged.append(seq)
            counters.sent += 1
        }
    }

    /// Acknowledged messages the next commit removes.
    public var unremovedDeliveries: Int { acknowledged.count }

    /// Removes the oldest messages not yet handed to the client until the limits hold; returns how many.
    private func dropOldest() throws -> Int {
        guard count > limits.maxMessages || bytes > limits.maxBytes else { return 0 }
        var excessCount = count - limits.maxMessages
        var excessBytes = bytes - limits.maxBytes
        var dropped = 0
        let candidates = try db.prepare("SELECT seq, length(payload) FROM outbox WHERE seq > ? ORDER BY seq LIMIT 512")
        var from = cursor
        while excessCount > 0 || excessBytes > 0 {
            try candidates.bind([from])
            let rows = try candidates.map { row in (try row[0, as: Int64.self], Int(try row[1, as: Int64.self])) }
            guard !rows.isEmpty else { break }  // everything left is in flight
            var last = from
            for (seq, size) in rows where excessCount > 0 || excessBytes > 0 {
                last = seq
                excessCount -= 1
                excessBytes -= size
                count -= 1
                bytes -= size
                dropped += 1
            }
            try db.run("DELETE FROM outbox WHERE seq > ? AND seq <= ?", from, last)
            from = last
        }
        counters.dropped += Int64(dropped)
        return dropped
    }

    /// Forgets what was handed to the client: after the client is recreated everything unacknowledged goes again.
    public func rewind() {
        cursor = 0
        handed.removeAll()
    }

    /// Stored messages not handed to the client yet.
    public var waiting: Int { count - handed.count }

    public var stats: OutboxStats {
        let gone = Set(acknowledged)
        let oldest = try? db.query("SELECT seq, created_ms FROM outbox ORDER BY seq LIMIT ?", Int64(gone.count + 1)) { row in
            (try row[0, as: Int64.self], try row[1, as: Int64.self])
        }.first { !gone.contains($0.0) }?.1
        return OutboxStats(
            depth: count - gone.count, bytes: bytes - gone.reduce(0) { $0 + (handed[$1] ?? 0) }, oldestCreatedMs: oldest,
            inFlight: handed.count - gone.count, counters: counters, transactions: transactions)
    }

    /// Every message in order (tests and diagnostics).
    public func all() throws(OutboxError) -> [OutboxMessage] {
        do {
            return try db.query("SELECT seq, topic, payload, created_ms, retain FROM outbox ORDER BY seq") { row in
                OutboxMessage(seq: try row[0], topic: try row[1], payload: try row[2], createdMs: try row[3], retain: try row[4, as: Int64.self] != 0)
            }
        } catch { throw OutboxError(path: path, message: "\(error)") }
    }
}

import ElaSQLite

/// How much of the audit log the agent keeps (`[audit]` in agent.toml): a row per gate decision grows without end
/// otherwise, which an SD card does not survive. 0 means no limit.
public struct AuditRetention: Sendable, Equatable {
    /// The newest rows kept; older ones are removed.
    public var maxRows: Int64
    /// Rows older than this (milliseconds) are removed.
    public var maxAgeMillis: Int64

    public init(maxRows: Int64, maxAgeMillis: Int64) {
        self.maxRows = maxRows
        self.maxAgeMillis = maxAgeMillis
    }

    public var keepsEverything: Bool { maxRows <= 0 && maxAgeMillis <= 0 }
}

/// Where retention cut the log: rows 1...`seq` are gone, and row `seq + 1` names `hash` as its prev_hash. The chain is
/// verified from here on, as from the genesis hash before any cut.
public struct AuditPruneMark: Sendable, Equatable {
    public var seq: Int64
    public var hash: [UInt8]
    /// Rows removed by all cuts so far.
    public var rows: Int64
    /// When the last cut was made (unix milliseconds).
    public var at: Int64

    public init(seq: Int64, hash: [UInt8], rows: Int64, at: Int64) {
        self.seq = seq
        self.hash = hash
        self.rows = rows
        self.at = at
    }
}

extension AuditLogStore {
    /// The mark retention left, nil while it has removed nothing.
    public static func pruneMark(in transaction: StoreTransaction) throws -> AuditPruneMark? {
        try transaction.connection.query("SELECT seq, hash, rows, at FROM audit_pruned WHERE id = 1") { row in
            AuditPruneMark(seq: try row["seq"], hash: try row["hash"], rows: try row["rows"], at: try row["at"])
        }.first
    }

    public func pruneMark() throws -> AuditPruneMark? {
        try store.read { try Self.pruneMark(in: $0) }
    }

    /// The age limit alone never removes the newest this many rows: a clock set far ahead (a board without a
    /// real-time clock, a bad NTP answer) must not empty the log.
    public static let ageFloorRows: Int64 = 1000
    /// 2025-01-01 (unix milliseconds): no row of this agent was written before it, so an earlier stamp comes from a
    /// clock that was not set yet (a board's first boot before NTP, stamped 1970) and says nothing about the row's
    /// age. Without this floor the oldest such rows, having nothing earlier to compare with, counted as decades old.
    public static let clockFloorMillis: Int64 = 1_735_689_600_000

    /// Whether a wall clock reading `seconds` is not set yet (before ``clockFloorMillis``).
    public static func clockIsUnset(atSeconds seconds: Int64) -> Bool { seconds < clockFloorMillis / 1000 }
    /// How far past a batch a row vouching for rows stamped after now is looked for.
    static let vouchWindowRows: Int64 = 20_000
    /// The fewest rows a cut removes (see ``prune(_:nowMillis:batch:recordingCut:)``).
    static let minimumCut: Int64 = 2

    /// Removes up to `batch` of the oldest rows `retention` no longer keeps, in one transaction, and appends the row
    /// `recordingCut(first, through, hash of row through)` describes to the chain in it, so the cut is itself in the
    /// log. Only a run of the oldest rows goes (past `maxRows`, or older than `maxAgeMillis` but never the newest
    /// ``ageFloorRows``), never the newest row, only while the head row is the newest row, and only two or more at
    /// once (so the log keeps up to `maxRows` rows plus the last cut's own). Each row is checked
    /// against the chain first (sequence, link to the mark, own hash): the rows before one that does not verify go,
    /// it and everything after it stay as evidence, and the error names it. Returns the rows removed; fewer than
    /// `batch` means nothing more is due. Rows still in the journal are not looked at (they are the newest).
    public func prune(
        _ retention: AuditRetention, nowMillis: Int64, batch: Int = 5000,
        recordingCut: (_ first: Int64, _ through: Int64, _ hash: [UInt8]) -> AuditEntry
    ) throws -> Int64 {
        guard !retention.keepsEverything else { return 0 }
        try prepareAppend()
        let (removed, stopped) = try store.write { tx -> (Int64, AuditStoreError?) in
            guard let head = try Self.checkedHead(in: tx) else { return (0, nil) }
            // The head is what says where the chain ends: with its row gone or different, a cut could empty the log.
            guard try Self.storedHash(seq: head.seq, in: tx) == head.hash else {
                return (0, .pruneStopped(seq: head.seq, reason: "the newest row is missing or is not the one the head names"))
            }
            let mark = try Self.pruneMark(in: tx)
            let from = mark?.seq ?? 0
            let pastRows = retention.maxRows > 0 ? head.seq - retention.maxRows : 0
            let before = nowMillis.subtractingReportingOverflow(retention.maxAgeMillis).partialValue
            let ageFloor = head.seq - Self.ageFloorRows
            var last = (seq: from, hash: mark?.hash ?? Self.genesisHash)
            var stopped: AuditStoreError?
            let batchRecords = try records(afterSeq: from, limit: max(1, batch), in: tx)
            let lastInBatch = batchRecords.last?.seq ?? from
            // The latest trustworthy stamp among the rows already removed: rows behind it are judged as behind in
            // this pass as they would have been in the one that removed it.
            let latestRemoved = try tx.connection.query("SELECT latest_at FROM audit_pruned WHERE id = 1") { try $0[0, as: Int64?.self] }.first ?? nil
            let ages = try Self.oldByAge(
                batchRecords.map(\.entry.at), before: before, nowMillis: nowMillis,
                latestBefore: max(latestRemoved ?? .min, Self.clockFloorMillis)
            ) { atLeast in
                // Rows after the batch, for a run of rows stamped after now that reaches its end. Within a window: the
                // scan runs inside the write transaction gated calls wait for (a longer run waits for the clock).
                try tx.connection.query(
                    "SELECT at FROM audit_log WHERE seq > ? AND seq <= ? AND at <= ? AND at >= ? ORDER BY seq LIMIT 1",
                    lastInBatch, lastInBatch + Self.vouchWindowRows, nowMillis, atLeast
                ) { try $0[0, as: Int64.self] }.first
            }
            var latestCut = latestRemoved
            for (index, record) in batchRecords.enumerated() {
                let old = record.seq <= pastRows || (retention.maxAgeMillis > 0 && record.seq <= ageFloor && ages.verdicts[index])
                // The oldest run only: a newer row stamped by a clock that was behind does not pull the cut past it.
                guard record.seq < head.seq, old else { break }
                guard record.seq == last.seq + 1 else {
                    stopped = .pruneStopped(seq: last.seq + 1, reason: "the row is missing")
                    break
                }
                guard record.prevHash == last.hash, hashFunction(record.seq, record.prevHash, record.entry) == record.hash else {
                    stopped = .pruneStopped(seq: record.seq, reason: "the row does not verify against the chain")
                    break
                }
                last = (record.seq, record.hash)
                if let trusted = ages.latestThrough[index] { latestCut = trusted }
            }
            // At least two rows: the row recording a cut must not make the next pass cut again (one out, one in).
            guard last.seq - from >= Self.minimumCut else { return (0, stopped) }
            try tx.connection.run("DELETE FROM audit_log WHERE seq <= ?", last.seq)
            let removed = last.seq - from
            try tx.connection.run(
                """
                INSERT INTO audit_pruned (id, seq, hash, rows, at, latest_at) VALUES (1, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, rows = excluded.rows, at = excluded.at,
                    latest_at = excluded.latest_at
                """, last.seq, last.hash, (mark?.rows ?? 0) + removed, nowMillis, latestCut)
            _ = try append(recordingCut(from + 1, last.seq, last.hash), in: tx)
            return (removed, stopped)
        }
        // The cut's row to the database now, so a verify right after finds the mark recorded.
        if removed > 0 { try? flush() }
        if let stopped { throw stopped }
        return removed
    }

    /// For each row (oldest first), whether the age limit removes it, and the latest trustworthy stamp up to it.
    /// A row is trustworthy when stamped no later than now and not behind an earlier trustworthy one (`latestBefore`
    /// carries those of rows already removed, and the clock floor); its verdict is its stamp: before `before`. Any other row was stamped
    /// by a clock that was ahead (a board without a real-time clock, a bad NTP answer) or that stepped back (to 1970
    /// after a reboot, say): its stamp says nothing, so it takes the verdict of the next trustworthy row, written
    /// after it and so at least as old in truth. Without that, one row from a clock that was ahead kept every row
    /// after it for as long as the clock was ahead, and rows stamped 1970 yesterday went as decades old. For rows at
    /// the end, `stampAfter(atLeast)` gives the stamp of the first later row within [atLeast, now]. No trustworthy
    /// row after one (the clock is now behind, say): kept.
    static func oldByAge(
        _ stamps: [Int64], before: Int64, nowMillis: Int64, latestBefore: Int64 = .min,
        stampAfter: (_ atLeast: Int64) throws -> Int64?
    ) rethrows -> (verdicts: [Bool], latestThrough: [Int64?]) {
        // Forward: which rows are trustworthy, and the latest trustworthy stamp up to each row.
        var trusted = [Bool](repeating: false, count: stamps.count)
        var latestThrough = [Int64?](repeating: nil, count: stamps.count)
        var latest = latestBefore
        for (i, at) in stamps.enumerated() {
            if at <= nowMillis && at >= latest {
                trusted[i] = true
                latest = at
            }
            if latest != .min { latestThrough[i] = latest }
        }
        var verdicts = [Bool](repeating: false, count: stamps.count)
        var voucher: Bool?
        for i in stamps.indices.reversed() {
            if trusted[i] {
                verdicts[i] = stamps[i] < before
                voucher = verdicts[i]
            } else {
                if voucher == nil { voucher = (try stampAfter(latest)).map { $0 < before } ?? false }
                verdicts[i] = voucher ?? false
            }
        }
        return (verdicts, latestThrough)
    }

    /// How many rows sit at or below the mark: none unless someone put them there (retention removes them with the
    /// mark's move, in one transaction), and nothing checks them.
    public func rowsBelowMark(in transaction: StoreTransaction) throws -> Int64 {
        guard let mark = try Self.pruneMark(in: transaction) else { return 0 }
        return try transaction.connection.query("SELECT count(*) FROM audit_log WHERE seq <= ?", mark.seq) { try $0[0, as: Int64.self] }.first ?? 0
    }
}

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

    /// Removes up to `batch` of the oldest rows `retention` no longer keeps, in one transaction; never the newest row
    /// (the head). Each row is checked against the chain first (sequence, link to the mark, own hash): the rows
    /// before one that does not verify go, it and everything after it stay as evidence, and the error names it.
    /// Returns the rows removed; fewer than `batch` means nothing more is due. Rows still in the journal are not
    /// looked at (they are the newest).
    public func prune(_ retention: AuditRetention, nowMillis: Int64, batch: Int = 5000) throws -> Int64 {
        guard !retention.keepsEverything else { return 0 }
        let (removed, stopped) = try store.write { tx -> (Int64, AuditStoreError?) in
            guard let head = try Self.checkedHead(in: tx) else { return (0, nil) }
            let mark = try Self.pruneMark(in: tx)
            var cut: Int64 = 0
            if retention.maxRows > 0 { cut = max(cut, head.seq - retention.maxRows) }
            if retention.maxAgeMillis > 0 {
                let before = nowMillis.subtractingReportingOverflow(retention.maxAgeMillis).partialValue
                let oldest = try tx.connection.query("SELECT max(seq) FROM audit_log WHERE at < ?", before) { row -> Int64? in
                    try row[0, as: Int64?.self]
                }.first ?? nil
                if let oldest { cut = max(cut, oldest) }
            }
            cut = min(cut, head.seq - 1)
            let from = mark?.seq ?? 0
            guard cut > from else { return (0, nil) }
            let through = min(cut, from + Int64(max(1, batch)))
            var last = (seq: from, hash: mark?.hash ?? Self.genesisHash)
            var stopped: AuditStoreError?
            for record in try records(afterSeq: from, limit: Int(through - from), in: tx) {
                guard record.seq == last.seq + 1 else {
                    stopped = .pruneStopped(seq: last.seq + 1, reason: "the row is missing")
                    break
                }
                guard record.prevHash == last.hash, hashFunction(record.seq, record.prevHash, record.entry) == record.hash else {
                    stopped = .pruneStopped(seq: record.seq, reason: "the row does not verify against the chain")
                    break
                }
                last = (record.seq, record.hash)
            }
            if stopped == nil && last.seq < through { stopped = .pruneStopped(seq: last.seq + 1, reason: "the row is missing") }
            guard last.seq > from else { return (0, stopped) }
            try tx.connection.run("DELETE FROM audit_log WHERE seq <= ?", last.seq)
            let removed = last.seq - from
            try tx.connection.run(
                """
                INSERT INTO audit_pruned (id, seq, hash, rows, at) VALUES (1, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, rows = excluded.rows, at = excluded.at
                """, last.seq, last.hash, (mark?.rows ?? 0) + removed, nowMillis)
            return (removed, stopped)
        }
        if let stopped { throw stopped }
        return removed
    }
}

import ElaSQLite

/// Who made the call an audit row records.
public enum AuditCaller: String, Sendable, CaseIterable {
    /// A local administrator over the control socket.
    case admin
    /// A remote caller's signed request, judged against the grants table.
    case signed
    /// A remote caller's signed request that carried a device access credential.
    case credential
    /// One plugin calling another.
    case plugin
    /// A remote caller's call inside a carrier session opened with its signed proof, authenticated by the session key.
    case session
}

/// The gate's verdict.
public enum AuditDecision: String, Sendable, CaseIterable {
    case allow, deny
}

/// The fields of one audit row that the caller supplies; the store adds the sequence number and the hashes.
public struct AuditEntry: Sendable, Equatable {
    /// Unix milliseconds.
    public var at: Int64
    /// The caller: a DID, `uid:<n>` for a local admin, `plugin:<name>` for a plugin.
    public var subject: String
    public var caller: AuditCaller
    public var method: String
    /// The capability the method needs; empty when there is none (unknown method, admin action).
    public var capability: String
    public var decision: AuditDecision
    public var reason: String
    /// The caller's signed request JSON as received, or the admin's or plugin's params as compact JSON.
    public var request: String

    public init(
        at: Int64, subject: String, caller: AuditCaller, method: String, capability: String, decision: AuditDecision,
        reason: String, request: String
    ) {
        self.at = at
        self.subject = subject
        self.caller = caller
        self.method = method
        self.capability = capability
        self.decision = decision
        self.reason = reason
        self.request = request
    }
}

/// A stored audit row: its place in the chain and its hashes.
public struct AuditRecord: Sendable, Equatable {
    /// 1, 2, 3, ... with no gaps.
    public var seq: Int64
    public var entry: AuditEntry
    /// The hash of row `seq - 1` (32 zero bytes for row 1).
    public var prevHash: [UInt8]
    /// The hash over `prevHash` and this row (see the gate's `AuditChain`).
    public var hash: [UInt8]

    public init(seq: Int64, entry: AuditEntry, prevHash: [UInt8], hash: [UInt8]) {
        self.seq = seq
        self.entry = entry
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// The last row of the chain, kept in its own table and updated in the same transaction as every append, so a
/// deleted tail shows.
public struct AuditHead: Sendable, Equatable {
    public var seq: Int64
    public var hash: [UInt8]

    public init(seq: Int64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }
}

/// Which audit rows to list.
public struct AuditFilter: Sendable, Equatable {
    public var subject: String?
    public var decision: AuditDecision?
    /// Only rows at or after this time (unix milliseconds).
    public var sinceMillis: Int64?
    /// At most this many rows: the newest ones.
    public var limit: Int

    public init(subject: String? = nil, decision: AuditDecision? = nil, sinceMillis: Int64? = nil, limit: Int = 100) {
        self.subject = subject
        self.decision = decision
        self.sinceMillis = sinceMillis
        self.limit = limit
    }
}

/// An audit log problem found while reading or appending.
public enum AuditStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A column holds a value no version of this program writes.
    case invalidValue(seq: Int64, column: String, value: String)
    /// The head row is gone although rows exist: appending would fork the chain.
    case headMissing(rows: Int64)
    /// Retention removed nothing from row `seq` on: that row is missing or does not verify, and stays as evidence.
    case pruneStopped(seq: Int64, reason: String)

    public var description: String {
        switch self {
        case .invalidValue(let seq, let column, let value):
            "audit row \(seq): column \(column) holds '\(value)', which this program never writes (the row was edited)"
        case .headMissing(let rows):
            "the audit head row is missing but the log holds \(rows) row(s): the database was tampered with;"
                + " run `elactl audit verify` and keep a copy of the database before repairing"
        case .pruneStopped(let seq, let reason):
            "audit retention stopped at row \(seq): \(reason); it and the rows after it are kept as evidence (run `elactl audit verify`)"
        }
    }
}

/// Computes the hash of a row from its sequence number, the previous row's hash and its fields.
public typealias AuditHashFunction = @Sendable (_ seq: Int64, _ prevHash: [UInt8], _ entry: AuditEntry) -> [UInt8]

/// The hash-chained audit log. Each append hashes the new row onto the head and moves the head.
///
/// With a journal (the agent's gate), rows are written ahead to an append-only file and moved into the database in
/// batches (see ``AuditJournal`` for why); every read here moves them first, so readers see every appended row.
/// Without one, each append is its own transaction. The hash function comes from the gate, which defines (and
/// documents) the encoding.
public final class AuditLogStore: Sendable {
    /// The `prevHash` of row 1.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    public let store: AgentStore
    let hashFunction: AuditHashFunction
    let journal: AuditJournal?

    /// `journalPath`: where rows are written ahead; nil for one transaction per row. One store per journal: a second
    /// one on the same file fails to open it (``AuditJournalError/inUse(_:)``). `flushDelayMillis`: how long rows may
    /// wait in the journal before a background flush moves them (sooner once 1,000 wait, and before any read). Each
    /// flush rewrites a few pages of the database whatever it moves, so the delay sets how much an SD card is
    /// written for a steady trickle of calls; the journal keeps the rows meanwhile as safely as the database would.
    ///
    /// Never call the methods without a transaction argument (appends, reads, flushes) from inside an
    /// ``AgentStore/write(_:)`` or ``AgentStore/read(_:)`` body: they take the database themselves, which is not
    /// reentrant. Inside a transaction use ``append(_:in:)`` after ``prepareAppend()``.
    public init(_ store: AgentStore, journalPath: String? = nil, flushDelayMillis: Int = 5000, hash: @escaping AuditHashFunction) {
        self.store = store
        self.hashFunction = hash
        self.journal = journalPath.map { AuditJournal(path: $0, store: store, flushDelayMillis: flushDelayMillis, hash: hash) }
    }

    /// Opens the journal and imports what a killed process left in it (appends do this too; the agent calls it at
    /// start to log the outcome). Nil without a journal.
    @discardableResult
    public func open() throws(AuditJournalError) -> AuditJournalRecovery? {
        try journal?.open()
    }

    /// `observer` is told when the journal works again after an open or a move into the database failed (gated
    /// calls are denied meanwhile). It runs on whichever thread recovered it and must not block.
    public func onRecovery(_ observer: @escaping @Sendable (AuditJournalRecovered) -> Void) {
        journal?.onRecovery(observer)
    }

    /// Moves the journal's rows into the database now (opening the journal first if it is not open).
    public func flush() throws {
        try journal?.flush()
    }

    /// Makes ``append(_:in:)`` possible: opens the journal if needed and retries a failed move into the database.
    /// Call it before the transaction (it takes the database).
    public func prepareAppend() throws {
        try journal?.prepareAppend()
    }

    /// Flushes and closes the journal; later appends fail.
    public func close() throws {
        try journal?.close()
    }

    /// Appends a row after the head and moves the head to it.
    @discardableResult
    public func append(_ entry: AuditEntry) throws -> AuditRecord {
        if let journal { return try journal.append(entry) }
        return try store.write { try appendToDatabase(entry, in: $0) }
    }

    /// Appends inside the caller's transaction, so the row is ordered with the caller's change (and, without a journal,
    /// commits with it). With a journal the row goes to the journal, whose order is the chain's; if the transaction
    /// then fails, the log holds a row for a change that did not happen, never the reverse. Call ``prepareAppend()``
    /// before the transaction.
    public func append(_ entry: AuditEntry, in transaction: StoreTransaction) throws -> AuditRecord {
        if let journal { return try journal.append(entry, mayOpen: false) }
        return try appendToDatabase(entry, in: transaction)
    }

    /// Puts the rows appended so far on the disk before the caller commits a change they record (an admin's grant,
    /// owner or setting change), so that no power cut keeps the change without its row. Without a journal the row
    /// commits with the change anyway.
    public func syncBeforeCommit() throws {
        try journal?.sync()
    }

    /// Whether rows are written ahead to a journal (and a signed request's nonce can ride with its row).
    public var isJournaled: Bool { journal != nil }

    /// Why rows cannot be appended now (gated calls are then denied), or nil.
    public var problem: String? { journal?.problem }

    /// A signed request's row, with the nonce it uses up written in the same journal record: `entry` and the nonce,
    /// or, if the nonce is among those not yet moved into the database, `ifReplayed` and nothing remembered. The
    /// caller checks the database inside ``holdingFlushes(_:)`` (the same call), so no nonce slips between the two.
    /// Journaled stores only; call ``prepareAppend()`` first.
    public func append(
        _ entry: AuditEntry, usingUp nonce: RecordedNonce, pruneNoncesBefore: Int64, ifReplayed: AuditEntry, in transaction: StoreTransaction
    ) throws -> (record: AuditRecord, replayed: Bool) {
        guard let journal else { throw AuditJournalError.notOpen("this audit log has no journal") }
        return try journal.append(entry, nonce: nonce, pruneNoncesBefore: pruneNoncesBefore, ifReplayed: ifReplayed, mayOpen: false)
    }

    /// Runs `body` while no flush moves rows and nonces into the database (see
    /// ``append(_:usingUp:pruneNoncesBefore:ifReplayed:in:)``). Not reentrant: no flush, open or prepareAppend inside.
    public func holdingFlushes<T>(_ body: () throws -> T) throws -> T {
        guard let journal else { return try body() }
        return try journal.holdingFlushes(body)
    }

    private func appendToDatabase(_ entry: AuditEntry, in transaction: StoreTransaction) throws -> AuditRecord {
        let head = try Self.checkedHead(in: transaction)
        let seq = (head?.seq ?? 0) + 1
        let prevHash = head?.hash ?? Self.genesisHash
        let record = AuditRecord(seq: seq, entry: entry, prevHash: prevHash, hash: hashFunction(seq, prevHash, entry))
        try Self.insert(record, in: transaction)
        return record
    }

    /// Writes a hashed row and moves the head to it.
    static func insert(_ record: AuditRecord, in transaction: StoreTransaction) throws {
        let entry = record.entry
        try transaction.connection.run(
            """
            INSERT INTO audit_log (seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, record.seq, entry.at, entry.subject, entry.caller.rawValue, entry.method, entry.capability,
            entry.decision.rawValue, entry.reason, entry.request, record.prevHash, record.hash)
        try transaction.connection.run(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            record.seq, record.hash)
    }

    static func head(in transaction: StoreTransaction) throws -> AuditHead? {
        try transaction.connection.query("SELECT seq, hash FROM audit_head WHERE id = 1") { row in
            AuditHead(seq: try row["seq"], hash: try row["hash"])
        }.first
    }

    /// The head, or nil for an empty log; a missing head over existing rows is an error (appending would fork the chain).
    static func checkedHead(in transaction: StoreTransaction) throws -> AuditHead? {
        let head = try head(in: transaction)
        if head == nil {
            let rows = try rowCount(in: transaction)
            if rows > 0 { throw AuditStoreError.headMissing(rows: rows) }
        }
        return head
    }

    static func storedHash(seq: Int64, in transaction: StoreTransaction) throws -> [UInt8]? {
        try transaction.connection.query("SELECT hash FROM audit_log WHERE seq = ?", seq) { row -> [UInt8] in try row["hash"] }.first
    }

    static func rowCount(in transaction: StoreTransaction) throws -> Int64 {
        try transaction.connection.query("SELECT count(*) FROM audit_log") { try $0[0, as: Int64.self] }.first ?? 0
    }

    /// The head as the database holds it (call ``flush()`` first to include the journal), or nil for an empty log.
    public func head(in transaction: StoreTransaction) throws -> AuditHead? {
        try Self.head(in: transaction)
    }

    public func head() throws -> AuditHead? {
        try journal?.flushIfOpen()
        return try store.read { try Self.head(in: $0) }
    }

    /// Up to `limit` rows with `seq > afterSeq`, in sequence order: for walking the whole chain page by page.
    public func records(afterSeq: Int64, limit: Int, in transaction: StoreTransaction) throws -> [AuditRecord] {
        try transaction.connection.query(
            "\(Self.select) WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, max(0, limit), row: Self.decode)
    }

    public func records(afterSeq: Int64, limit: Int) throws -> [AuditRecord] {
        try journal?.flushIfOpen()
        return try store.read { try records(afterSeq: afterSeq, limit: limit, in: $0) }
    }

    /// The row with this sequence number.
    public func record(seq: Int64) throws -> AuditRecord? {
        try journal?.flushIfOpen()
        return try store.read { tx in try tx.connection.query("\(Self.select) WHERE seq = ?", seq, row: Self.decode).first }
    }

    /// The newest `filter.limit` rows that match, oldest first.
    public func list(_ filter: AuditFilter) throws -> [AuditRecord] {
        // Rows at or below retention's mark are none unless planted there, and unchecked: not listed.
        var conditions: [String] = [Self.afterMark]
        var arguments: [any SQLiteBindable] = []
        if let subject = filter.subject {
            conditions.append("subject = ?")
            arguments.append(subject)
        }
        if let decision = filter.decision {
            conditions.append("decision = ?")
            arguments.append(decision.rawValue)
        }
        if let since = filter.sinceMillis {
            conditions.append("at >= ?")
            arguments.append(since)
        }
        var sql = Self.select
        sql += " WHERE " + conditions.joined(separator: " AND ")
        sql += " ORDER BY seq DESC LIMIT ?"
        arguments.append(max(0, filter.limit))
        try journal?.flushIfOpen()
        let newestFirst = try store.read { tx in try tx.connection.query(sql, arguments: arguments, row: Self.decode) }
        return newestFirst.reversed()
    }

    /// How many rows the log holds (after retention's mark).
    public func count() throws -> Int64 {
        try journal?.flushIfOpen()
        return try store.read { tx in
            try tx.connection.query("SELECT count(*) FROM audit_log WHERE \(Self.afterMark)") {
                try $0[0, as: Int64.self]
            }.first ?? 0
        }
    }

    /// The rows after retention's mark (all of them before any cut).
    private static let afterMark = "seq > coalesce((SELECT seq FROM audit_pruned WHERE id = 1), 0)"

    private static let select =
        "SELECT seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash FROM audit_log"

    private static func decode(_ row: SQLiteRow) throws -> AuditRecord {
        let seq: Int64 = try row["seq"]
        let callerText: String = try row["caller"]
        let decisionText: String = try row["decision"]
        guard let caller = AuditCaller(rawValue: callerText) else {
            throw AuditStoreError.invalidValue(seq: seq, column: "caller", value: callerText)
        }
        guard let decision = AuditDecision(rawValue: decisionText) else {
            throw AuditStoreError.invalidValue(seq: seq, column: "decision", value: decisionText)
        }
        let entry = AuditEntry(
            at: try row["at"], subject: try row["subject"], caller: caller, method: try row["method"],
            capability: try row["capability"], decision: decision, reason: try row["reason"], request: try row["request"])
        return AuditRecord(seq: seq, entry: entry, prevHash: try row["prev_hash"], hash: try row["hash"])
    }
}

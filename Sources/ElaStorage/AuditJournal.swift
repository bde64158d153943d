#if canImport(Glibc)
import Glibc
#endif
internal import Dispatch
internal import ElaFileSystem
internal import Synchronization

/// Audit rows written ahead of the database: an append-only file next to it, one `write` per row.
///
/// Why: committing a row to SQLite writes four pages (the row, two indexes, the head) and takes the WAL locks. In the
/// agent that was about 40% of the CPU of a gated call and most of its latency (309 us p50 with it, 181 us without),
/// and four page writes per call wear an SD card. A completed `write` survives a killed process just as a WAL commit
/// with `synchronous=NORMAL` does (both sit in the page cache; both can lose the last moments to a power cut). Rows
/// move into the database in batches, one transaction each, within ``flushDelayMillis`` or before anything reads the
/// log, and the file is emptied once the database holds all of it.
///
/// The chain is unchanged: each row is hashed onto the previous one as it is appended, and a row that cannot be
/// written to the journal is an error (the gate then denies the call). At open, rows left in the file by a killed
/// process are checked (sequence, previous hash, own hash) and imported; a damaged or edited remainder is moved
/// aside as `<path>.damaged-<unix time>` and reported, never deleted (if it cannot be moved, the journal does not
/// open and appends fail).
///
/// Lock order: the flush lock, then the database, then `state`. Appends take `state` only.
final class AuditJournal: Sendable {
    let path: String
    let store: AgentStore
    let hashFunction: AuditHashFunction
    /// How long rows may wait in the file before a background flush moves them.
    let flushDelayMillis: Int
    /// Rows that bring the flush forward to within ``busyFlushMillis``, whatever the delay: a busy caller's rows
    /// go in batches as often as that at most, and do not pile up in memory.
    static let flushRows = 1000
    static let busyFlushMillis = 200
    /// Past this size a flush that cannot catch up (appends keep coming) rewrites the file with the rows not yet moved.
    static let compactBytes = 1 << 20

    private struct State {
        var fd: Int32 = -1
        var head: AuditHead?
        /// Written to the file, not yet in the database; in sequence order.
        var pending: [JournalRecord] = []
        /// The nonces among `pending`: a signed request's replay check looks here as well as in the database.
        var pendingNonces: Set<NonceKey> = []
        /// Nonces seen before this are forgotten at the next flush (the latest cutoff a recording gate asked for).
        var pruneNoncesBefore: Int64?
        var fileBytes = 0
        /// A timer will flush: appends meanwhile do not start another.
        var flushScheduled = false
        /// A flush within ``busyFlushMillis`` is on its way (``flushRows`` rows were waiting).
        var busyFlushScheduled = false
        /// Transactions that moved rows into the database (how well appends are batched).
        var flushTransactions = 0
        /// Why the journal could not be opened (appends fail with it until an open succeeds).
        var openError: String?
        /// After ``AuditJournal/close()``: nothing opens it again.
        var closed = false
        /// Why the last move into the database failed: appends then retry it first and fail while it fails, so a
        /// broken database denies calls instead of growing the journal without end.
        var flushError: AuditJournalError?
    }

    private let state = Mutex(State())
    private let flushLock = Mutex<Void>(())
    /// Told when the journal recovers after a failure: an open that succeeds after one failed, or a move into the
    /// database that succeeds after one failed. Calls are denied until then, so whoever runs the agent wants to
    /// know when they are served again.
    private let recoveryObserver = Mutex<(@Sendable (AuditJournalRecovered) -> Void)?>(nil)

    init(path: String, store: AgentStore, flushDelayMillis: Int, hash: @escaping AuditHashFunction) {
        self.path = path
        self.store = store
        self.flushDelayMillis = flushDelayMillis
        self.hashFunction = hash
    }

    deinit {
        state.withLock { if $0.fd >= 0 { Glibc.close($0.fd) } }
    }

    var isOpen: Bool { state.withLock { $0.fd >= 0 } }

    /// Why appends fail now (the journal did not open, or rows cannot reach the database), or nil.
    var problem: String? {
        state.withLock { s in s.fd < 0 ? (s.openError ?? "the journal is not open") : s.flushError?.description }
    }

    func onRecovery(_ observer: @escaping @Sendable (AuditJournalRecovered) -> Void) {
        recoveryObserver.withLock { $0 = observer }
    }

    private func tell(_ event: AuditJournalRecovered) {
        recoveryObserver.withLock { $0 }?(event)
    }

    // MARK: Opening

    /// Opens the file, imports what a previous process left in it, and empties it. Idempotent.
    @discardableResult
    func open() throws(AuditJournalError) -> AuditJournalRecovery {
        do {
            let (recovery, failedBefore) = try flushLock.withLock { _ throws(AuditJournalError) -> (AuditJournalRecovery, String?) in
                if isOpen { return (AuditJournalRecovery(imported: 0, damage: nil, movedTo: nil), nil) }
                let (closed, failedBefore) = state.withLock { ($0.closed, $0.openError) }
                if closed { throw .notOpen("the audit log was closed") }
                return (try recover(), failedBefore)
            }
            if let failedBefore { tell(.opened(recovery, after: failedBefore)) }
            return recovery
        } catch {
            state.withLock { $0.openError = error.description }
            throw error
        }
    }

    private func recover() throws(AuditJournalError) -> AuditJournalRecovery {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        // One writer per journal: a second store on the same database would fork the chain.
        guard Self.lockExclusively(fd) else {
            Glibc.close(fd)
            throw .inUse(path)
        }
        let bytes: [UInt8]
        do { bytes = try FileSystem.read(path, limit: .max) } catch {
            Glibc.close(fd)
            throw .io("cannot read the audit journal: \(error)")
        }
        let decoded = AuditJournalCodec.decode(bytes[...])
        let outcome: (head: AuditHead?, imported: Int, damage: String?)
        do {
            outcome = try store.write { tx in
                var head = try AuditLogStore.checkedHead(in: tx)
                let pruned = try AuditLogStore.pruneMark(in: tx)?.seq ?? 0
                var imported = 0
                var damage = decoded.damage
                var importing = false
                for journaled in decoded.records {
                    let record = journaled.record
                    // A leading run already moved by the process that wrote it (it stopped before emptying the file):
                    // each must be the very row the database holds.
                    if !importing && record.seq <= (head?.seq ?? 0) {
                        // Moved, then removed by retention since: nothing left to compare it with.
                        if record.seq <= pruned { continue }
                        guard try AuditLogStore.storedHash(seq: record.seq, in: tx) == record.hash else {
                            damage = "row \(record.seq) in the journal differs from row \(record.seq) in the database"
                            break
                        }
                        continue
                    }
                    importing = true
                    guard record.seq == (head?.seq ?? 0) + 1, record.prevHash == (head?.hash ?? AuditLogStore.genesisHash),
                        hashFunction(record.seq, record.prevHash, record.entry) == record.hash
                    else {
                        damage = "row \(record.seq) does not continue the chain (edited, or written by another database)"
                        break
                    }
                    try AuditLogStore.insert(record, in: tx)
                    if let nonce = journaled.nonce { try NonceStore.record(nonce, in: tx) }
                    head = AuditHead(seq: record.seq, hash: record.hash)
                    imported += 1
                }
                return (head, imported, damage)
            }
        } catch {
            Glibc.close(fd)
            throw .database("\(error)")
        }
        var movedTo: String?
        if outcome.damage != nil {
            // Kept for whoever investigates; the chain continues from the last good row. Appending after the damage
            // instead would hide the new rows from the next recovery, so a file that cannot be moved stays closed.
            var aside = "\(path).damaged-\(time(nil))"
            var suffix = 1
            while access(aside, F_OK) == 0 {
                aside = "\(path).damaged-\(time(nil))-\(suffix)"
                suffix += 1
            }
            guard rename(path, aside) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw .io("cannot move the damaged \(path) aside: \(reason)")
            }
            movedTo = aside
            let fresh = Glibc.open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fresh >= 0, flock(fresh, LOCK_EX | LOCK_NB) == 0 else {
                let reason = String(cString: strerror(errno))
                if fresh >= 0 { Glibc.close(fresh) }
                Glibc.close(fd)
                throw .io("cannot create \(path) after moving the damaged one aside: \(reason)")
            }
            Glibc.close(fd)
            install(fd: fresh, head: outcome.head)
        } else {
            guard ftruncate(fd, 0) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw .io("cannot empty \(path): \(reason)")
            }
            install(fd: fd, head: outcome.head)
        }
        return AuditJournalRecovery(imported: outcome.imported, damage: outcome.damage, movedTo: movedTo)
    }

    private func install(fd: Int32, head: AuditHead?) {
        state.withLock {
            $0.fd = fd
            $0.head = head
            $0.pending = []
            $0.pendingNonces = []
            $0.fileBytes = 0
            $0.openError = nil
        }
    }

    // MARK: Appending

    /// Hashes `entry` onto the chain and writes it to the file; it reaches the database with the next flush.
    /// `mayOpen`: false inside a database transaction, where opening (which writes to the database) would deadlock.
    func append(_ entry: AuditEntry, mayOpen: Bool = true) throws(AuditJournalError) -> AuditRecord {
        try append(entry, nonce: nil, ifReplayed: entry, mayOpen: mayOpen).record
    }

    /// Appends `entry` and remembers `nonce` with it (written in the same record, moved into the nonce table with the
    /// row), unless the nonce is among those not yet moved: then `ifReplayed` is appended instead and nothing is
    /// remembered. The database side of the check is the caller's, under ``holdingFlushes(_:)``.
    /// `pruneNoncesBefore`: the next flush forgets nonces seen before this time.
    func append(
        _ entry: AuditEntry, nonce: RecordedNonce?, pruneNoncesBefore: Int64? = nil, ifReplayed replayEntry: AuditEntry,
        mayOpen: Bool = true
    ) throws(AuditJournalError) -> (record: AuditRecord, replayed: Bool) {
        if mayOpen && !isOpen { try open() }
        if let failed = state.withLock({ $0.flushError }) {
            guard mayOpen else { throw failed }
            try flush()
        }
        let (record, replayed, schedule, full) = try state.withLock { s throws(AuditJournalError) -> (AuditRecord, Bool, Bool, Bool) in
            guard s.fd >= 0 else { throw .notOpen(s.openError ?? "closed") }
            let replayed = nonce.map { s.pendingNonces.contains($0.key) } ?? false
            let entry = replayed ? replayEntry : entry
            let remembered = replayed ? nil : nonce
            let seq = (s.head?.seq ?? 0) + 1
            let prevHash = s.head?.hash ?? AuditLogStore.genesisHash
            let record = AuditRecord(seq: seq, entry: entry, prevHash: prevHash, hash: hashFunction(seq, prevHash, entry))
            let journaled = JournalRecord(record: record, nonce: remembered)
            let bytes = AuditJournalCodec.encode(journaled)
            guard bytes.count - 4 <= AuditJournalCodec.maxPayloadBytes else {
                throw .io("a row of \(bytes.count) bytes is larger than the journal takes")
            }
            if let failure = Self.writeAll(s.fd, bytes) {
                // A partial record would end the readable part of the file: cut it off again. If even that fails,
                // the journal closes (appends fail) and the next open moves the torn file aside.
                if ftruncate(s.fd, off_t(s.fileBytes)) != 0 {
                    Glibc.close(s.fd)
                    s.fd = -1
                    s.openError = "a partial write could not be undone: \(String(cString: strerror(errno)))"
                }
                throw .io("cannot write to \(path): \(failure)")
            }
            s.fileBytes += bytes.count
            s.pending.append(journaled)
            if let remembered { s.pendingNonces.insert(remembered.key) }
            // The latest request's cutoff, not the largest seen: after the clock steps back, an old far cutoff would
            // delete nonces still inside the window.
            if let cutoff = pruneNoncesBefore { s.pruneNoncesBefore = cutoff }
            s.head = AuditHead(seq: seq, hash: record.hash)
            let schedule = !s.flushScheduled
            s.flushScheduled = true
            let full = s.pending.count >= Self.flushRows && !s.busyFlushScheduled
            if full { s.busyFlushScheduled = true }
            return (record, replayed, schedule, full)
        }
        if full {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.busyFlushMillis)) { [self] in
                state.withLock { $0.busyFlushScheduled = false }
                try? flush()
            }
        }
        if schedule { scheduleTimerFlush(afterMillis: flushDelayMillis) }
        return (record, replayed)
    }

    /// A failed background flush is retried after twice the previous wait, up to this (or the flush delay if longer).
    static let maxRetryMillis = 60_000

    /// Moves the rows after `afterMillis`. The caller set `flushScheduled`. Holds the journal weakly: a store dropped
    /// without `close()` ends the chain.
    private func scheduleTimerFlush(afterMillis: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(afterMillis)) { [weak self] in
            guard let self else { return }
            // Cleared before the flush takes its batch: a row appended from here on schedules the next timer.
            // (Clearing it in every round of a flush, as before, let each round schedule another timer: under
            // load nearly every append did, and the rows went in as many tiny transactions.)
            state.withLock { $0.flushScheduled = false }
            do { try flush() } catch {
                // The rows wait safely in the file and in memory. Try again, backing off, rather than only at the
                // next call, read or start, unless an append armed a timer meanwhile or the journal closed.
                let retry = state.withLock { s in
                    guard !s.flushScheduled && !s.closed && !s.pending.isEmpty else { return false }
                    s.flushScheduled = true
                    return true
                }
                if retry { scheduleTimerFlush(afterMillis: min(max(afterMillis * 2, 100), max(Self.maxRetryMillis, flushDelayMillis))) }
            }
        }
    }

    /// Runs `body` while no flush can move rows (and nonces) into the database: a nonce is then either committed,
    /// so a read transaction begun inside `body` sees it, or still pending, so ``append(_:nonce:ifReplayed:mayOpen:)``
    /// sees it. Never call ``flush()``, ``open()`` or ``prepareAppend()`` inside (the lock is not reentrant).
    func holdingFlushes<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try flushLock.withLock { _ throws(E) in try body() }
    }

    // MARK: Flushing

    /// Transactions that moved rows into the database so far.
    var flushTransactions: Int { state.withLock { $0.flushTransactions } }

    /// Forces the rows written so far to the disk (fdatasync). Rows are otherwise written without it: a killed process
    /// loses none, but after a power cut the kernel may have written a later database commit and not the row.
    func sync() throws(AuditJournalError) {
        try state.withLock { s throws(AuditJournalError) in
            guard s.fd >= 0 else { throw .notOpen(s.openError ?? "closed") }
            while fdatasync(s.fd) != 0 {
                guard errno == EINTR else { throw .io("cannot sync \(path): \(String(cString: strerror(errno)))") }
            }
        }
    }

    /// Opens the journal if needed and retries a failed move into the database, so that an append inside a
    /// transaction (which can do neither) finds the journal usable.
    func prepareAppend() throws(AuditJournalError) {
        if !isOpen { try open() }
        if state.withLock({ $0.flushError }) != nil { try flush() }
    }

    /// Moves rows only if the journal is open: a journal that cannot open (say, over a deleted head) must not stop
    /// anyone from reading what the database holds.
    func flushIfOpen() throws(AuditJournalError) {
        if isOpen { try flush() }
    }

    /// Moves every row written so far into the database, then empties the file if nothing newer came in meanwhile.
    func flush() throws(AuditJournalError) {
        if !isOpen {
            if state.withLock({ $0.closed }) { return }
            try open()
            return
        }
        try flushLock.withLock { _ throws(AuditJournalError) in
            // Rounds: appends continue during each transaction; a round that finds nothing new empties the file.
            for _ in 0..<8 {
                let moved: Int
                do {
                    moved = try store.write { tx in
                        let (batch, pruneBefore) = state.withLock { s in (s.pending, s.pruneNoncesBefore) }
                        // Once per batch rather than once per request, and before the batch's own nonces go in, as
                        // the gate did per request.
                        if let pruneBefore { try NonceStore.prune(seenBefore: pruneBefore, in: tx) }
                        for journaled in batch {
                            try AuditLogStore.insert(journaled.record, in: tx)
                            if let nonce = journaled.nonce { try NonceStore.record(nonce, in: tx) }
                        }
                        return batch.count
                    }
                } catch {
                    let failure = AuditJournalError.database("\(error)")
                    state.withLock { $0.flushError = failure }
                    throw failure
                }
                if let failedBefore = state.withLock({ s in defer { s.flushError = nil }; return s.flushError }) {
                    tell(.flushed(after: failedBefore.description))
                }
                let caughtUp = try state.withLock { s throws(AuditJournalError) -> Bool in
                    s.flushTransactions += 1
                    for journaled in s.pending.prefix(moved) {
                        if let nonce = journaled.nonce { s.pendingNonces.remove(nonce.key) }
                    }
                    s.pending.removeFirst(min(moved, s.pending.count))
                    guard s.pending.isEmpty else { return false }
                    if s.fileBytes > 0 {
                        guard ftruncate(s.fd, 0) == 0 else { throw .io("cannot empty \(path): \(String(cString: strerror(errno)))") }
                        s.fileBytes = 0
                    }
                    return true
                }
                if caughtUp { return }
            }
            try state.withLock { s throws(AuditJournalError) in
                guard s.fileBytes > Self.compactBytes else { return }
                try compact(&s)
            }
        }
    }

    /// Rewrites the file with only the rows not yet in the database (under `state`, so no append interleaves).
    private func compact(_ s: inout State) throws(AuditJournalError) {
        let temporary = path + ".tmp"
        let fd = Glibc.open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var bytes: [UInt8] = []
        for journaled in s.pending { bytes += AuditJournalCodec.encode(journaled) }
        if let failure = Self.writeAll(fd, bytes) {
            Glibc.close(fd)
            unlink(temporary)
            throw .io("cannot write \(temporary): \(failure)")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            unlink(temporary)
            throw .io("cannot replace \(path): \(reason)")
        }
        Glibc.close(s.fd)
        s.fd = fd
        s.fileBytes = bytes.count
    }

    /// Flushes and closes the file (the agent's shutdown). Appends after this fail.
    func close() throws(AuditJournalError) {
        defer {
            state.withLock { s in
                if s.fd >= 0 { Glibc.close(s.fd) }
                s.fd = -1
                s.closed = true
                s.openError = "the audit log was closed"
            }
        }
        if isOpen { try flush() }
    }

    // MARK: File helpers

    /// Takes the journal's lock, waiting up to 250 ms: a child this process is spawning holds a copy of a
    /// just-closed descriptor, and so the lock, until its exec (later on a loaded machine); a lock held longer than
    /// that is another agent's.
    private static func lockExclusively(_ fd: Int32) -> Bool {
        for _ in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK else { return false }
            usleep(5000)
        }
        return false
    }

    /// nil when every byte was written, else why not.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            if n == 0 { return "no progress" }
            sent += n
        }
        return nil
    }
}

/// The journal works again after a failure (see ``AuditLogStore/onRecovery(_:)``).
public enum AuditJournalRecovered: Sendable, Equatable {
    /// It opened after an earlier open failed for the reason given.
    case opened(AuditJournalRecovery, after: String)
    /// Its rows reached the database after an earlier move failed for the reason given.
    case flushed(after: String)
}

/// What opening the journal found.
public struct AuditJournalRecovery: Sendable, Equatable {
    /// Rows a previous process had written to the file but not yet to the database, now imported.
    public var imported: Int
    /// Why the rest of the file was not imported (a torn last record after a power cut, or an edit).
    public var damage: String?
    /// Where the damaged file was moved.
    public var movedTo: String?
}

public enum AuditJournalError: Error, Sendable, Equatable, CustomStringConvertible {
    case io(String)
    case database(String)
    /// Another store (in this process or another) holds the journal.
    case inUse(String)
    case notOpen(String)

    public var description: String {
        switch self {
        case .io(let message): "audit journal: \(message)"
        case .database(let message): "audit journal: moving rows into the database failed: \(message)"
        case .inUse(let path):
            "audit journal \(path) is held by another process (is another agent running on this state directory?)"
        case .notOpen(let reason): "audit journal not open: \(reason)"
        }
    }
}

/// A row as the journal holds it: the audit record and the nonce it used up, if it was a signed request's.
struct JournalRecord: Sendable, Equatable {
    var record: AuditRecord
    var nonce: RecordedNonce?
}

/// The journal's record format: a 4-byte big-endian payload length, then the payload: `seq` and `at` as 8 bytes
/// big-endian, then subject, caller, method, capability, decision, reason, request, prevHash and hash, each a 4-byte
/// big-endian length and its bytes; then, for a row that used up a nonce, the nonce (length and bytes) and the time
/// it was seen (8 bytes). The nonce's subject is the row's. (Records without a nonce are those of the first format.)
enum AuditJournalCodec {
    /// Larger payloads are not records this program writes: a request is at most a control or plugin frame (1 MiB),
    /// and `append` refuses a row above this (the call is then denied).
    static let maxPayloadBytes = 4 << 20

    static func encode(_ record: AuditRecord) -> [UInt8] { encode(JournalRecord(record: record, nonce: nil)) }

    static func encode(_ journaled: JournalRecord) -> [UInt8] {
        let record = journaled.record
        let e = record.entry
        var payload: [UInt8] = []
        payload.reserveCapacity(160 + e.request.utf8.count + e.reason.utf8.count)
        appendInteger(UInt64(bitPattern: record.seq), to: &payload)
        appendInteger(UInt64(bitPattern: e.at), to: &payload)
        for text in [e.subject, e.caller.rawValue, e.method, e.capability, e.decision.rawValue, e.reason, e.request] {
            appendField(Array(text.utf8), to: &payload)
        }
        appendField(record.prevHash, to: &payload)
        appendField(record.hash, to: &payload)
        if let nonce = journaled.nonce {
            appendField(Array(nonce.nonce.utf8), to: &payload)
            appendInteger(UInt64(bitPattern: nonce.seenAt), to: &payload)
        }
        var out: [UInt8] = []
        out.reserveCapacity(4 + payload.count)
        appendLength(payload.count, to: &out)
        return out + payload
    }

    /// The complete records at the start of `bytes`, and why decoding stopped early, if it did.
    static func decode(_ bytes: ArraySlice<UInt8>) -> (records: [JournalRecord], damage: String?) {
        var records: [JournalRecord] = []
        var at = bytes.startIndex
        while at < bytes.endIndex {
            let offset = at - bytes.startIndex
            guard bytes.endIndex - at >= 4 else { return (records, "an incomplete record at byte \(offset)") }
            let length = readLength(bytes, at)
            guard length <= maxPayloadBytes else { return (records, "a record of \(length) bytes at byte \(offset)") }
            guard bytes.endIndex - at - 4 >= length else { return (records, "an incomplete record at byte \(offset)") }
            guard let record = decodePayload(bytes[(at + 4)..<(at + 4 + length)]) else {
                return (records, "an unreadable record at byte \(offset)")
            }
            records.append(record)
            at += 4 + length
        }
        return (records, nil)
    }

    private static func decodePayload(_ payload: ArraySlice<UInt8>) -> JournalRecord? {
        var at = payload.startIndex
        func integer() -> Int64? {
            guard payload.endIndex - at >= 8 else { return nil }
            var value: UInt64 = 0
            for byte in payload[at..<(at + 8)] { value = value << 8 | UInt64(byte) }
            at += 8
            return Int64(bitPattern: value)
        }
        func field() -> ArraySlice<UInt8>? {
            guard payload.endIndex - at >= 4 else { return nil }
            let length = readLength(payload, at)
            guard payload.endIndex - at - 4 >= length else { return nil }
            defer { at += 4 + length }
            return payload[(at + 4)..<(at + 4 + length)]
        }
        func text() -> String? { field().flatMap { String(validating: $0, as: UTF8.self) } }
        guard let seq = integer(), let time = integer(), let subject = text(), let callerText = text(),
            let caller = AuditCaller(rawValue: callerText), let method = text(), let capability = text(),
            let decisionText = text(), let decision = AuditDecision(rawValue: decisionText), let reason = text(),
            let request = text(), let prevHash = field(), let hash = field()
        else { return nil }
        var nonce: RecordedNonce?
        if at != payload.endIndex {
            guard let text = text(), let seenAt = integer() else { return nil }
            nonce = RecordedNonce(subject: subject, nonce: text, seenAt: seenAt)
        }
        guard at == payload.endIndex else { return nil }
        let entry = AuditEntry(
            at: time, subject: subject, caller: caller, method: method, capability: capability, decision: decision,
            reason: reason, request: request)
        return JournalRecord(record: AuditRecord(seq: seq, entry: entry, prevHash: Array(prevHash), hash: Array(hash)), nonce: nonce)
    }

    private static func appendInteger(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func appendLength(_ length: Int, to out: inout [UInt8]) {
        let value = UInt32(truncatingIfNeeded: length)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func appendField(_ bytes: [UInt8], to out: inout [UInt8]) {
        appendLength(bytes.count, to: &out)
        out += bytes
    }

    /// Built as UInt32 and clamped: on a 32-bit board `Int(byte) << 24` could turn negative and pass a size check.
    private static func readLength(_ bytes: ArraySlice<UInt8>, _ at: Int) -> Int {
        Int(clamping: UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]))
    }
}

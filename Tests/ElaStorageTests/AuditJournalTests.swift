#if canImport(Glibc)
import Glibc
#endif
import ElaSQLite
@testable import ElaStorage
import ElaTestSupport
import Synchronization
import Testing

/// The audit journal with real files: rows written ahead, moved in batches, recovered after a process left them.
@Suite(.ownThread) struct AuditJournalTests {
    /// A store whose rows stay in the journal until something moves them (no background flush within a test),
    /// unless `flushDelayMillis` says otherwise.
    func journaled(_ dir: TemporaryDirectory, flushDelayMillis: Int = 600_000) throws -> (AgentStore, AuditLogStore) {
        let store = try AgentStore(path: dir.path + "/agent.db")
        return (store, AuditLogStore(store, journalPath: store.auditJournalPath, flushDelayMillis: flushDelayMillis, hash: testHash))
    }

    /// A journaled store in a fresh directory, closed and removed afterwards.
    func withJournal(_ body: (AgentStore, AuditLogStore) throws -> Void) throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        try body(store, log)
    }

    func fileBytes(_ path: String) -> [UInt8] { TestData.read(path) ?? [] }

    /// What a killed agent leaves in `dir`: `inDatabase` already moved, `journal` still in the file.
    func leftBehind(_ dir: TemporaryDirectory, journal: [UInt8], inDatabase: [AuditRecord] = []) throws {
        if !inDatabase.isEmpty {
            let store = try AgentStore(path: dir.path + "/agent.db")
            defer { store.close() }
            try store.write { tx in for record in inDatabase { try AuditLogStore.insert(record, in: tx) } }
        }
        writeFile(dir.path + "/agent.db.audit-journal", journal)
    }

    func writeFile(_ path: String, _ bytes: [UInt8]) {
        let f = fopen(path, "wb")
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }

    /// Three chained rows made by a journaled store in another directory, as a killed agent's journal would hold them.
    func threeRecords() throws -> [AuditRecord] {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        for n in 1...3 { try log.append(entry(n)) }
        let records = try log.records(afterSeq: 0, limit: 10)
        try log.close()
        return records
    }

    @Test func appendsGoToTheFileAndReadersSeeThemMoved() throws {
        try withJournal { store, log in
            let path = try #require(store.auditJournalPath)
            for n in 1...5 { try log.append(entry(n)) }
            #expect(fileBytes(path).count > 0)
            // Not in the database yet: a raw count sees none of them.
            #expect(try store.read { tx in try AuditLogStore.rowCount(in: tx) } == 0)
            // Readers move them first.
            #expect(try log.count() == 5)
            #expect(fileBytes(path).isEmpty)
            let rows = try log.records(afterSeq: 0, limit: 10)
            #expect(rows.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(rows[1].prevHash == rows[0].hash)
            #expect(try log.head() == AuditHead(seq: 5, hash: rows[4].hash))
            try log.append(entry(6))
            #expect(try log.records(afterSeq: 5, limit: 10).map(\.entry.reason) == ["r6"])
        }
    }

    @Test func aBackgroundFlushMovesRowsWithoutAReader() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir, flushDelayMillis: 20)
        defer { store.close() }
        try log.append(entry(1))
        var moved: Int64 = 0
        for _ in 0..<100 where moved == 0 {
            try await Task.sleep(for: .milliseconds(20))
            moved = try store.read { tx in try AuditLogStore.rowCount(in: tx) }
        }
        #expect(moved == 1)
    }

    /// A timer flush that fails (here a trigger another connection installed refuses the insert) tries again after
    /// another delay: the row moves once the database takes it, with no further append or read.
    @Test func aFailedBackgroundFlushTriesAgain() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir, flushDelayMillis: 20)
        defer { store.close() }
        let other = try SQLiteConnection(path: dir.path + "/agent.db")
        defer { other.close() }
        try other.execute("CREATE TRIGGER refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        try log.append(entry(1))
        let transactionsBefore = log.journal?.flushTransactions ?? -1
        try await Task.sleep(for: .milliseconds(200))  // several delays: every attempt so far failed
        #expect(try store.read { tx in try AuditLogStore.rowCount(in: tx) } == 0)
        try other.execute("DROP TRIGGER refuse")
        var moved: Int64 = 0
        for _ in 0..<100 where moved == 0 {
            try await Task.sleep(for: .milliseconds(20))
            moved = try store.read { tx in try AuditLogStore.rowCount(in: tx) }
        }
        #expect(moved == 1)
        #expect((log.journal?.flushTransactions ?? 0) > transactionsBefore)
    }

    /// A full batch moves within the busy interval, however long the delay: a busy caller's rows do not pile up.
    @Test func aThousandRowsMoveWithoutWaitingForTheDelay() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)  // a delay no test waits for
        defer { store.close() }
        for n in 1...999 { try log.append(entry(n)) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(try store.read { tx in try AuditLogStore.rowCount(in: tx) } == 0)
        try log.append(entry(1000))
        var moved: Int64 = 0
        for _ in 0..<250 where moved < 1000 {
            try await Task.sleep(for: .milliseconds(20))
            moved = try store.read { tx in try AuditLogStore.rowCount(in: tx) }
        }
        #expect(moved == 1000)
    }

    /// Under a steady stream of appends, one timer is pending at a time and each flush takes what came in since:
    /// rows go in as a few large transactions, not as many small ones (each writes the same pages again).
    @Test func aSteadyStreamOfAppendsIsMovedInFewTransactions() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let delay = 25
        let (store, log) = try journaled(dir, flushDelayMillis: delay)
        defer { store.close() }
        let journal = try #require(log.journal)
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let start = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        var appended = 0
        var elapsed = 0.0
        while elapsed < 0.5 {
            // Appends never pause for long, so every flush overlaps some (as a busy agent's do).
            for _ in 0..<5 {
                appended += 1
                try log.append(entry(appended))
            }
            usleep(100)
            clock_gettime(CLOCK_MONOTONIC, &ts)
            elapsed = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9 - start
        }
        #expect(try log.count() == Int64(appended))
        // At most one flush per delay and one per busy interval (plus the reader's above and one in progress), each
        // at most 8 rounds.
        let bound = (Int(elapsed * 1000) / delay + Int(elapsed * 1000) / AuditJournal.busyFlushMillis + 3) * 8
        #expect(journal.flushTransactions <= bound, "\(journal.flushTransactions) transactions for \(appended) rows")
        #expect(appended > 4 * bound, "the test appended too few rows to tell")
    }

    @Test func rowsAKilledProcessLeftAreImportedAtOpen() throws {
        let records = try threeRecords()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db.audit-journal"
        writeFile(path, records.flatMap(AuditJournalCodec.encode))
        let (store, log) = try journaled(dir)
        defer { store.close() }
        let recovery = try #require(try log.open())
        #expect(recovery == AuditJournalRecovery(imported: 3, damage: nil, movedTo: nil))
        #expect(fileBytes(path).isEmpty)
        #expect(try log.records(afterSeq: 0, limit: 10) == records)
        // The chain continues after them.
        let next = try log.append(entry(4))
        #expect(next.seq == 4 && next.prevHash == records[2].hash)
    }

    @Test func noncesRideWithTheirRowsIntoTheNonceTable() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        let nonces = NonceStore(store)
        let first = RecordedNonce(subject: "did:elastos:a", nonce: "00aa", seenAt: 100)
        func useUp(_ nonce: RecordedNonce, _ n: Int, pruneBefore: Int64 = 0) throws -> Bool {
            try log.prepareAppend()
            return try log.holdingFlushes {
                try store.read { tx in
                    try log.append(entry(n), usingUp: nonce, pruneNoncesBefore: pruneBefore, ifReplayed: entry(-n), in: tx).replayed
                }
            }
        }
        #expect(try !useUp(first, 1))
        // Not yet moved: the journal knows it, the table does not.
        #expect(try useUp(first, 2))
        #expect(try store.read { try nonces.contains(subject: first.subject, nonce: first.nonce, in: $0) } == false)
        #expect(try !useUp(RecordedNonce(subject: "did:elastos:b", nonce: "00aa", seenAt: 100), 3))
        try log.flush()
        #expect(try nonces.count() == 2)
        #expect(try store.read { try nonces.contains(subject: first.subject, nonce: first.nonce, in: $0) })
        // The replayed row was audited as the replay; the chain holds all three decisions.
        #expect(try log.records(afterSeq: 0, limit: 10).map(\.entry) == [entry(1), entry(-2), entry(3)])
        // A later batch prunes what its recorder no longer needs, once.
        #expect(try !useUp(RecordedNonce(subject: "did:elastos:a", nonce: "00bb", seenAt: 500), 4, pruneBefore: 101))
        try log.flush()
        #expect(try nonces.count() == 1)
        // The clock stepped back: the latest cutoff counts, not the largest seen, so a fresh nonce is kept.
        #expect(try !useUp(RecordedNonce(subject: "did:elastos:a", nonce: "00cc", seenAt: 50), 5, pruneBefore: -550))
        try log.flush()
        #expect(try nonces.count() == 2)
        #expect(try store.read { try nonces.contains(subject: "did:elastos:a", nonce: "00cc", in: $0) })
    }

    @Test func noncesAKilledProcessLeftAreImportedWithTheirRows() throws {
        // Rows with nonces written by a store that never moved them, as a killed agent leaves them.
        let source = TemporaryDirectory()
        defer { source.remove() }
        let journal: [UInt8]
        do {
            let (store, log) = try journaled(source)
            defer { store.close() }
            for n in 1...2 {
                try log.prepareAppend()
                _ = try store.read { tx in
                    try log.append(
                        entry(n), usingUp: RecordedNonce(subject: "did:elastos:a", nonce: "0\(n)", seenAt: 100), pruneNoncesBefore: 0,
                        ifReplayed: entry(-n), in: tx)
                }
            }
            journal = fileBytes(store.auditJournalPath ?? "")
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try leftBehind(dir, journal: journal)
        let (store, log) = try journaled(dir)
        defer { store.close() }
        #expect(try log.open() == AuditJournalRecovery(imported: 2, damage: nil, movedTo: nil))
        #expect(try NonceStore(store).count() == 2)
        #expect(try store.read { try NonceStore(store).contains(subject: "did:elastos:a", nonce: "02", in: $0) })
    }

    @Test func rowsAlreadyMovedBeforeTheFileWasEmptiedAreSkipped() throws {
        let records = try threeRecords()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try leftBehind(dir, journal: records.flatMap(AuditJournalCodec.encode), inDatabase: [records[0]])
        let (store, log) = try journaled(dir)
        defer { store.close() }
        #expect(try log.open()?.imported == 2)
        #expect(try log.records(afterSeq: 0, limit: 10) == records)
    }

    @Test func aMovedRowThatDiffersFromTheDatabaseIsDamage() throws {
        let records = try threeRecords()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var edited = records
        edited[0].entry.reason = "not what the database says"
        edited[0].hash = testHash(1, edited[0].prevHash, edited[0].entry)
        try leftBehind(dir, journal: edited.flatMap(AuditJournalCodec.encode), inDatabase: [records[0]])
        let (store, log) = try journaled(dir)
        defer { store.close() }
        let recovery = try #require(try log.open())
        #expect(recovery.imported == 0)
        #expect(recovery.damage == "row 1 in the journal differs from row 1 in the database")
        #expect(try log.records(afterSeq: 0, limit: 10) == [records[0]])
    }

    @Test func twoDamagedFilesInOneSecondAreBothKept() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var kept: [String] = []
        for _ in 0..<2 {
            writeFile(dir.path + "/agent.db.audit-journal", [0, 0, 0, 9, 1])
            let (store, log) = try journaled(dir)
            kept.append(try #require(try log.open()?.movedTo))
            try log.close()
            store.close()
        }
        #expect(Set(kept).count == 2)
        #expect(kept.allSatisfy { fileBytes($0) == [0, 0, 0, 9, 1] })
    }

    @Test func aRowLargerThanTheJournalTakesIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        var huge = entry(1)
        huge.request = String(repeating: "x", count: AuditJournalCodec.maxPayloadBytes + 1)
        let tooLarge = huge
        #expect(throws: AuditJournalError.self) { try log.append(tooLarge) }
        // Nothing half-written: the next row is row 1 and reads back.
        #expect(try log.append(entry(2)).seq == 1)
        #expect(try log.count() == 1)
    }

    @Test func aJournalThatCannotOpenStillLetsTheDatabaseBeRead() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        do {
            let (store, log) = try journaled(dir)
            for n in 1...2 { try log.append(entry(n)) }
            try log.close()
            try store.write { tx in try tx.connection.execute("DELETE FROM audit_head") }
            store.close()
        }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        #expect(throws: AuditJournalError.self) { try log.open() }
        #expect(throws: AuditJournalError.self) { try log.append(entry(3)) }
        #expect(try log.count() == 2)
        #expect(try log.records(afterSeq: 0, limit: 10).count == 2)
    }

    @Test func aTornLastRecordIsKeptAsideAndTheRowsBeforeItImported() throws {
        let records = try threeRecords()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db.audit-journal"
        let whole = records.flatMap(AuditJournalCodec.encode)
        // A power cut in the middle of the third record.
        writeFile(path, Array(whole.dropLast(10)))
        let (store, log) = try journaled(dir)
        defer { store.close() }
        let recovery = try #require(try log.open())
        #expect(recovery.imported == 2)
        #expect(recovery.damage?.contains("incomplete record") == true)
        let aside = try #require(recovery.movedTo)
        #expect(fileBytes(aside) == Array(whole.dropLast(10)))
        #expect(fileBytes(path).isEmpty)
        #expect(try log.records(afterSeq: 0, limit: 10) == Array(records.prefix(2)))
        #expect(try log.append(entry(9)).seq == 3)
    }

    @Test func anEditedRecordStopsTheImportThere() throws {
        var records = try threeRecords()
        records[1].entry.reason = "rewritten"
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        writeFile(dir.path + "/agent.db.audit-journal", records.flatMap(AuditJournalCodec.encode))
        let (store, log) = try journaled(dir)
        defer { store.close() }
        let recovery = try #require(try log.open())
        #expect(recovery.imported == 1)
        #expect(recovery.damage == "row 2 does not continue the chain (edited, or written by another database)")
        #expect(recovery.movedTo != nil)
        #expect(try log.count() == 1)
    }

    @Test func garbageIsRefusedWithoutACrash() throws {
        for garbage: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF, 1, 2], [0, 0, 0, 3, 1, 2, 3], [0, 0]] {
            let decoded = AuditJournalCodec.decode(garbage[...])
            #expect(decoded.records.isEmpty)
            #expect(decoded.damage != nil)
        }
        let one = try threeRecords()[0]
        #expect(AuditJournalCodec.decode(AuditJournalCodec.encode(one)[...]).records == [JournalRecord(record: one, nonce: nil)])
        // A signed request's row carries the nonce it used up; a record cut inside the nonce is unreadable.
        let signed = JournalRecord(record: one, nonce: RecordedNonce(subject: one.entry.subject, nonce: "00ff", seenAt: 1_764_000_000))
        let bytes = AuditJournalCodec.encode(signed)
        #expect(AuditJournalCodec.decode(bytes[...]).records == [signed])
        var cut = Array(bytes.dropLast(3))
        let length = cut.count - 4
        cut[0..<4] = [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        let decoded = AuditJournalCodec.decode(cut[...])
        #expect(decoded.records.isEmpty && decoded.damage == "an unreadable record at byte 0")
    }

    @Test func aSecondStoreCannotTakeTheSameJournal() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        defer { store.close() }
        try log.append(entry(1))
        let other = try AgentStore(path: dir.path + "/agent.db")
        defer { other.close() }
        let second = AuditLogStore(other, journalPath: other.auditJournalPath, hash: testHash)
        #expect(throws: AuditJournalError.inUse(dir.path + "/agent.db.audit-journal")) { try second.append(entry(2)) }
        #expect(try log.count() == 1)
    }

    @Test func recoveriesAreReported() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (store, log) = try journaled(dir)
        try log.append(entry(1))
        // A second store cannot take the journal while the first holds it; once the first closes, its next append
        // opens it, and its observer hears why it had failed.
        let other = try AgentStore(path: dir.path + "/agent.db")
        defer { other.close() }
        let second = AuditLogStore(other, journalPath: other.auditJournalPath, flushDelayMillis: 600_000, hash: testHash)
        let heard = Mutex<[AuditJournalRecovered]>([])
        second.onRecovery { event in heard.withLock { $0.append(event) } }
        #expect(throws: AuditJournalError.self) { try second.append(entry(2)) }
        #expect(heard.withLock { $0 }.isEmpty)
        try log.close()
        store.close()
        try second.append(entry(2))
        let inUse = AuditJournalError.inUse(dir.path + "/agent.db.audit-journal").description
        #expect(heard.withLock { $0 } == [.opened(AuditJournalRecovery(imported: 0, damage: nil, movedTo: nil), after: inUse)])

        // A move into the database that fails, then works again.
        try other.write { tx in try tx.connection.execute("ALTER TABLE audit_log RENAME TO audit_log_away") }
        #expect(throws: AuditJournalError.self) { try second.flush() }
        try other.write { tx in try tx.connection.execute("ALTER TABLE audit_log_away RENAME TO audit_log") }
        try second.flush()
        let events = heard.withLock { $0 }
        #expect(events.count == 2)
        guard case .flushed(let reason)? = events.last else {
            Issue.record("no flush recovery reported: \(events)")
            return
        }
        #expect(reason.contains("audit_log"))
        #expect(try second.count() == 2)
    }

    @Test func closingMovesEverythingAndRefusesLaterAppends() throws {
        try withJournal { store, log in
            for n in 1...3 { try log.append(entry(n)) }
            try log.close()
            #expect(try store.read { tx in try AuditLogStore.rowCount(in: tx) } == 3)
            #expect(throws: AuditJournalError.self) { try log.append(entry(4)) }
            // Reading still works from the database; nothing reopens the file.
            #expect(try log.count() == 3)
        }
    }

    @Test func aLargeBacklogIsMovedInOneFlush() throws {
        try withJournal { store, log in
            for n in 1...3000 { try log.append(entry(n)) }
            try log.flush()
            #expect(try store.read { tx in try AuditLogStore.rowCount(in: tx) } == 3000)
            #expect(fileBytes(store.auditJournalPath!).isEmpty)
        }
    }
}

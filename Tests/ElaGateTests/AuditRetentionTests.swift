import ElaCrypto
import ElaGate
import ElaJSON
import ElaSQLite
@testable import ElaStorage
import ElaTestSupport
import Testing

/// `[audit]` retention: a run of the oldest rows goes once checked against the chain, the cut is recorded in the
/// chain, the newest row always stays, the rest verifies from the cut, and a row that does not verify stops the cut
/// and is kept.
@Suite(.ownThread) struct AuditRetentionTests {
    /// A gate with `count` admin rows, row i written at `at(i)` (unix seconds).
    func fixture(rows count: Int, at: (Int) -> Int64 = { _ in testNow }) throws -> GateFixture {
        let f = try GateFixture()
        for i in 1...count { _ = f.gate.authorize(.admin(method: "gpio.read", params: ["i": .number(JSONNumber(i))], uid: 0), now: at(i)) }
        try f.gate.audit.flush()
        return f
    }

    func keep(rows: Int64 = 0, ageSeconds: Int64 = 0) -> AuditRetention {
        AuditRetention(maxRows: rows, maxAgeMillis: ageSeconds * 1000)
    }

    func prune(_ f: GateFixture, _ retention: AuditRetention, at seconds: Int64 = testNow, batch: Int = 5000) throws -> Int64 {
        try f.gate.pruneAudit(retention, nowMillis: seconds * 1000, batch: batch)
    }

    @Test func theNewestRowsStayTheCutIsRecordedAndTheChainStillVerifies() throws {
        let f = try fixture(rows: 25)
        let row15 = try #require(try f.gate.audit.record(seq: 15))
        #expect(try prune(f, keep(rows: 10)) == 15)
        #expect(try f.gate.audit.pruneMark() == AuditPruneMark(seq: 15, hash: row15.hash, rows: 15, at: testNow * 1000))
        #expect(try f.gate.audit.record(seq: 15) == nil)
        // The newest ten and the cut's own row, which names what went.
        #expect(try f.gate.audit.count() == 11)
        let cut = try #require(try f.gate.audit.record(seq: 26)).entry
        #expect(cut.method == "audit.prune" && cut.subject == "agent" && cut.reason == "retention (max_rows 10) removed rows 1-15")
        #expect(cut.request == "{\"first\":1,\"through\":15,\"hash\":\"\(Hex.encode(row15.hash))\"}")
        var result = f.gate.verifyAudit()
        #expect(result.isOK, "\(result.summary)")
        #expect(result.rowCount == 11 && result.pruned?.seq == 15)
        #expect(result.summary.contains("(rows 1-15 removed by retention)"), "\(result.summary)")
        #expect(AuditVerifier.verify(f.gate.audit, pageSize: 3) == result)
        // The cut's own row does not make the next pass cut again; new rows do.
        #expect(try prune(f, keep(rows: 10)) == 0)
        for _ in 0..<4 { _ = f.gate.authorize(.admin(method: "gpio.read", params: [:], uid: 0), now: testNow) }
        try f.gate.audit.flush()
        #expect(try prune(f, keep(rows: 10)) == 5)
        result = f.gate.verifyAudit()
        #expect(result.isOK && result.rowCount == 11 && result.pruned?.rows == 20, "\(result.summary)")
    }

    @Test func aCutGoesInBatchesAndRetentionOffKeepsEverything() throws {
        let f = try fixture(rows: 12)
        #expect(try prune(f, keep()) == 0)
        var removed: [Int64] = []
        while removed.last != 0 { removed.append(try prune(f, keep(rows: 2), batch: 4)) }
        #expect(removed == [4, 4, 4, 0])
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func rowsPastTheAgeLimitGoAsARunButNeverTheNewestThousand() throws {
        // Rows 1-600 a day old, then 1010 of now.
        let f = try fixture(rows: 1610) { $0 <= 600 ? testNow - 86_400 : testNow }
        #expect(try prune(f, keep(ageSeconds: 3600)) == 600)
        #expect(try f.gate.audit.pruneMark()?.seq == 600)
        // A clock far ahead makes everything old: the newest 1000 rows stay all the same.
        #expect(try prune(f, keep(ageSeconds: 3600), at: testNow + 10 * 365 * 86_400) == 11)
        #expect(try f.gate.audit.count() == 1001)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func aRowFromAClockThatWasBehindDoesNotPullTheCutPastNewerRows() throws {
        // Row 6 written before the clock was set (1970): only a run of old rows from the oldest on may go.
        let f = try fixture(rows: 1010) { $0 == 6 ? 0 : testNow }
        #expect(try prune(f, keep(ageSeconds: 3600)) == 0)
        #expect(try f.gate.audit.count() == 1010)
    }

    @Test func aRowFromAClockThatWasAheadDoesNotBlockTheAgeLimit() throws {
        // Rows 1-600 a day old, except row 1, stamped by a clock a year ahead; then 1010 of now.
        let f = try fixture(rows: 1610) { $0 == 1 ? testNow + 365 * 86_400 : ($0 <= 600 ? testNow - 86_400 : testNow) }
        #expect(try prune(f, keep(ageSeconds: 3600)) == 600)
        #expect(f.gate.verifyAudit().isOK)
        // The clock now behind every row (reset to 1970): nothing goes by age.
        let g = try fixture(rows: 1610) { $0 <= 600 ? testNow - 86_400 : testNow }
        #expect(try prune(g, keep(ageSeconds: 3600), at: 3600) == 0)
        #expect(try g.gate.audit.count() == 1610)
    }

    @Test func ageVerdictsForStampsFromAClockThatWasAheadOrSteppedBack() {
        // now 100, limit: before 50. A row stamped after now, or behind an earlier trustworthy one, takes the verdict
        // of the next trustworthy row.
        func verdicts(_ stamps: [Int64], latestBefore: Int64 = .min, after: Int64? = nil) -> [Bool] {
            AuditLogStore.oldByAge(stamps, before: 50, nowMillis: 100, latestBefore: latestBefore) { atLeast in
                after.flatMap { $0 >= atLeast ? $0 : nil }
            }.verdicts
        }
        #expect(verdicts([10, 200, 20, 60]) == [true, true, true, false])
        // 30 is behind 60 (the clock stepped back): it says nothing itself; nothing trustworthy after it: kept.
        #expect(verdicts([10, 200, 20, 60, 300, 30]) == [true, true, true, false, false, false])
        // A clock ahead, then reset to 1970 (5), then right again (95): the rows between stay.
        #expect(verdicts([40, 200, 5, 95]) == [true, false, false, false])
        // The same in a later pass, after 40 was removed: the removed rows' latest stamp still counts.
        #expect(verdicts([200, 5, 95], latestBefore: 40) == [false, false, false])
        #expect(verdicts([200, 5, 95]) == [true, true, false])  // (what forgetting it would do)
        // A run reaching the end of the batch: the first row after it decides, if it is trustworthy.
        #expect(verdicts([10, 200, 300], after: 20) == [true, true, true])
        #expect(verdicts([10, 200, 300], after: 70) == [true, false, false])
        #expect(verdicts([30, 200], after: 20) == [true, false])  // 20 is behind 30
        #expect(verdicts([200, 300]) == [false, false])
        #expect(verdicts([]) == [])
        // The latest trustworthy stamp up to each row, kept with a cut.
        #expect(AuditLogStore.oldByAge([10, 200, 5, 60], before: 50, nowMillis: 100) { _ in nil }.latestThrough == [10, 10, 10, 60])
    }

    @Test func rowsFromAClockThatSteppedBackStayAcrossPasses() throws {
        // Rows 1-2 a month old, 3-5 a year ahead, 6-8 stamped 1970 (a reboot without a clock), then 1022 of now.
        let f = try fixture(rows: 1030) { i in
            switch i {
            case 1...2: testNow - 30 * 86_400
            case 3...5: testNow + 365 * 86_400
            case 6...8: 0
            default: testNow
            }
        }
        var removed: [Int64] = []
        while removed.last != 0 { removed.append(try prune(f, keep(ageSeconds: 3600))) }
        #expect(removed == [2, 0])
        #expect(try f.gate.audit.pruneMark()?.seq == 2)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func rowsStampedBeforeTheClockWasSetAtFirstBootAreNotTakenAsOld() throws {
        // A board's first boot: rows 1-5 written before NTP set the clock (stamped 1970), then 1010 of now. Nothing
        // earlier vouches for row 1, so only the clock floor tells that its stamp says nothing.
        let f = try fixture(rows: 1015) { $0 <= 5 ? 60 : testNow }
        #expect(try prune(f, keep(ageSeconds: 3600)) == 0)
        #expect(try f.gate.audit.count() == 1015)
        // The same rows followed by a day-old run: they take its verdict and go with it.
        let g = try fixture(rows: 1615) { $0 <= 5 ? 60 : ($0 <= 605 ? testNow - 86_400 : testNow) }
        #expect(try prune(g, keep(ageSeconds: 3600)) == 605)
        #expect(g.gate.verifyAudit().isOK)
        #expect(AuditLogStore.clockFloorMillis < testNow * 1000)
    }

    @Test func aLongRunFromAClockThatWasAheadIsJudgedPastTheBatch() throws {
        // Rows 1-2 and 11-20 a day old, 3-10 a year ahead, then 1010 of now; batches of 4.
        let f = try fixture(rows: 1030) { i in
            switch i {
            case 3...10: testNow + 365 * 86_400
            case ...20: testNow - 86_400
            default: testNow
            }
        }
        var removed: [Int64] = []
        while removed.last != 0 { removed.append(try prune(f, keep(ageSeconds: 3600), batch: 4)) }
        #expect(removed == [4, 4, 4, 4, 4, 0])
        #expect(try f.gate.audit.pruneMark()?.seq == 20)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func anEditedRowStopsTheCutAndStaysAsEvidence() throws {
        let f = try fixture(rows: 10)
        try f.raw().execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 4")
        #expect(throws: AuditStoreError.pruneStopped(seq: 4, reason: "the row does not verify against the chain")) {
            try prune(f, keep(rows: 2))
        }
        // The rows before it went, it and those after stayed; verify names it.
        #expect(try f.gate.audit.pruneMark()?.seq == 3)
        #expect(try f.gate.audit.record(seq: 4) != nil)
        #expect(f.gate.verifyAudit().problems == [.hashMismatch(seq: 4)])
        // A deleted row stops it the same way (one good row before it is too few to cut).
        let g = try fixture(rows: 10)
        try g.raw().execute("DELETE FROM audit_log WHERE seq = 2")
        #expect(throws: AuditStoreError.pruneStopped(seq: 2, reason: "the row is missing")) { try prune(g, keep(rows: 2)) }
        #expect(try g.gate.audit.pruneMark() == nil)
        // A missing newest row stops it before anything goes: the head would no longer say where the chain ends.
        let h = try fixture(rows: 10)
        try h.raw().execute("DELETE FROM audit_log WHERE seq = 10")
        #expect(throws: AuditStoreError.self) { try prune(h, keep(rows: 2)) }
        #expect(try h.gate.audit.pruneMark() == nil)
    }

    @Test func tamperingAroundACutStillShows() throws {
        let f = try fixture(rows: 10)
        #expect(try prune(f, keep(rows: 5)) == 5)
        // The first row after the cut deleted: a gap after the mark.
        try f.raw().execute("DELETE FROM audit_log WHERE seq = 6")
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 6, to: 6)])
        // The mark deleted as well: the removed rows show as missing.
        try f.raw().execute("DELETE FROM audit_pruned")
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 1, to: 6)])

        // The oldest rows deleted by hand with a mark written to match: no cut in the chain records it.
        let g = try fixture(rows: 10)
        let row4 = try #require(try g.gate.audit.record(seq: 4))
        let raw = try g.raw()
        try raw.execute("DELETE FROM audit_log WHERE seq <= 4")
        try raw.run("INSERT INTO audit_pruned (id, seq, hash, rows, at) VALUES (1, 4, ?, 4, 0)", row4.hash)
        #expect(g.gate.verifyAudit().problems == [.unrecordedCut(seq: 4)])

        // A row planted below a real cut: not listed, not counted, and verify names it.
        let h = try fixture(rows: 10)
        #expect(try prune(h, keep(rows: 5)) == 5)
        try h.raw().execute(
            "INSERT INTO audit_log (seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash) "
                + "SELECT 2, at, subject, caller, method, capability, 'allow', reason, request, prev_hash, hash FROM audit_log WHERE seq = 7")
        #expect(h.gate.verifyAudit().problems == [.rowsBelowCut(count: 1, seq: 5)])
        #expect(try h.gate.audit.count() == 6)
        #expect(try h.gate.auditList(AuditFilter(limit: 100)).allSatisfy { $0.seq > 5 })
    }

    @Test func anAnchorInTheRemovedPartCannotBeChecked() throws {
        let f = try fixture(rows: 10)
        let row3 = try #require(try f.gate.audit.record(seq: 3))
        let row5 = try #require(try f.gate.audit.record(seq: 5))
        #expect(try prune(f, keep(rows: 5)) == 5)
        let below = f.gate.verifyAudit(anchor: AuditHead(seq: 3, hash: row3.hash))
        #expect(below.problems == [.anchorRemoved(seq: 3)])
        #expect(below.summary.contains("use a newer anchor"), "\(below.summary)")
        // The mark's own row is still checked: its hash is kept.
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 5, hash: row5.hash)).isOK)
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 5, hash: row3.hash)).problems == [.anchorMismatch(seq: 5)])
    }
}

import ElaCrypto
import ElaGate
import ElaJSON
import ElaSQLite
import ElaStorage
import ElaTestSupport
import Testing

/// `[audit]` retention: the oldest rows go once checked against the chain, the newest row always stays, the rest
/// verifies from the cut, and a row that does not verify stops the cut and is kept.
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

    @Test func theNewestRowsStayAndTheChainStillVerifiesFromTheCut() throws {
        let f = try fixture(rows: 25)
        let row15 = try #require(try f.gate.audit.record(seq: 15))
        #expect(try f.gate.audit.prune(keep(rows: 10), nowMillis: testNow * 1000) == 15)
        #expect(try f.gate.audit.pruneMark() == AuditPruneMark(seq: 15, hash: row15.hash, rows: 15, at: testNow * 1000))
        #expect(try f.gate.audit.count() == 10)
        #expect(try f.gate.audit.record(seq: 15) == nil)
        var result = f.gate.verifyAudit()
        #expect(result.isOK, "\(result.summary)")
        #expect(result.rowCount == 10 && result.pruned?.seq == 15)
        #expect(result.summary.contains("(rows 1-15 removed by retention)"), "\(result.summary)")
        // Small pages walk the same chain.
        #expect(AuditVerifier.verify(f.gate.audit, pageSize: 3) == result)
        // Nothing more is due; new rows continue the chain, and the next cut counts on from the mark.
        #expect(try f.gate.audit.prune(keep(rows: 10), nowMillis: testNow * 1000) == 0)
        for _ in 0..<4 { _ = f.gate.authorize(.admin(method: "gpio.read", params: [:], uid: 0), now: testNow) }
        try f.gate.audit.flush()
        #expect(try f.gate.audit.prune(keep(rows: 10), nowMillis: testNow * 1000) == 4)
        result = f.gate.verifyAudit()
        #expect(result.isOK && result.rowCount == 10 && result.pruned?.rows == 19, "\(result.summary)")
    }

    @Test func aCutGoesInBatchesAndRetentionOffKeepsEverything() throws {
        let f = try fixture(rows: 12)
        #expect(try f.gate.audit.prune(keep(), nowMillis: testNow * 1000) == 0)
        var removed: [Int64] = []
        while true {
            let n = try f.gate.audit.prune(keep(rows: 2), nowMillis: testNow * 1000, batch: 4)
            removed.append(n)
            if n < 4 { break }
        }
        #expect(removed == [4, 4, 2])
        #expect(try f.gate.audit.prune(keep(rows: 2), nowMillis: testNow * 1000, batch: 4) == 0)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func rowsPastTheAgeLimitGoButNeverTheNewest() throws {
        // Rows 1-6 a day old, 7-9 now.
        let f = try fixture(rows: 9) { $0 <= 6 ? testNow - 86_400 : testNow }
        #expect(try f.gate.audit.prune(keep(ageSeconds: 3600), nowMillis: testNow * 1000) == 6)
        #expect(try f.gate.audit.pruneMark()?.seq == 6)
        // Everything old: the head row stays, so the log still says where the chain ends.
        #expect(try f.gate.audit.prune(keep(ageSeconds: 1), nowMillis: (testNow + 10) * 1000) == 2)
        #expect(try f.gate.audit.count() == 1)
        let result = f.gate.verifyAudit()
        #expect(result.isOK && result.head?.seq == 9, "\(result.summary)")
    }

    @Test func anEditedRowStopsTheCutAndStaysAsEvidence() throws {
        let f = try fixture(rows: 10)
        try f.raw().execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 4")
        #expect(throws: AuditStoreError.pruneStopped(seq: 4, reason: "the row does not verify against the chain")) {
            try f.gate.audit.prune(keep(rows: 2), nowMillis: testNow * 1000)
        }
        // Rows before it went, it and those after stayed; verify names it.
        #expect(try f.gate.audit.pruneMark()?.seq == 3)
        #expect(try f.gate.audit.record(seq: 4) != nil)
        #expect(f.gate.verifyAudit().problems == [.hashMismatch(seq: 4)])
        // A deleted row stops it the same way.
        let g = try fixture(rows: 10)
        try g.raw().execute("DELETE FROM audit_log WHERE seq = 2")
        #expect(throws: AuditStoreError.pruneStopped(seq: 2, reason: "the row is missing")) {
            try g.gate.audit.prune(keep(rows: 2), nowMillis: testNow * 1000)
        }
        #expect(try g.gate.audit.pruneMark()?.seq == 1)
    }

    @Test func tamperingAfterACutStillShows() throws {
        let f = try fixture(rows: 10)
        #expect(try f.gate.audit.prune(keep(rows: 5), nowMillis: testNow * 1000) == 5)
        // The first row after the cut deleted: a gap after the mark.
        try f.raw().execute("DELETE FROM audit_log WHERE seq = 6")
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 6, to: 6)])
        // The mark deleted as well: the removed rows show as missing.
        try f.raw().execute("DELETE FROM audit_pruned")
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 1, to: 6)])
    }

    @Test func anAnchorInTheRemovedPartIsNotChecked() throws {
        let f = try fixture(rows: 10)
        let row3 = try #require(try f.gate.audit.record(seq: 3))
        let row5 = try #require(try f.gate.audit.record(seq: 5))
        #expect(try f.gate.audit.prune(keep(rows: 5), nowMillis: testNow * 1000) == 5)
        let below = f.gate.verifyAudit(anchor: AuditHead(seq: 3, hash: row3.hash))
        #expect(below.isOK && below.anchorPruned)
        #expect(below.summary.contains("could not be checked"), "\(below.summary)")
        // The mark's own row is still checked: its hash is kept.
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 5, hash: row5.hash)).isOK)
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 5, hash: row3.hash)).problems == [.anchorMismatch(seq: 5)])
    }
}

import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaSQLite
import ElaStorage
import ElaTestSupport
import Testing

/// A gate with five audit rows (allowed and denied calls of two callers).
private func fixtureWithFiveRows() throws -> (GateFixture, Caller) {
    let f = try GateFixture()
    let caller = try Caller()
    try f.grant(caller.did, "gpio.write")  // row 1 (admin: grant.add)
    _ = f.send(try caller.request())  // 2 allowed
    _ = f.send(try caller.request("gpio.read", params: [:]))  // 3 denied
    _ = f.gate.authorize(.admin(method: "gpio.read", params: [:], uid: 0), now: testNow)  // 4
    _ = f.send(try Caller().request())  // 5 denied
    return (f, caller)
}

/// Re-hashes rows `from...` and the head the way the gate does, as an attacker with write access could.
private func rehash(_ f: GateFixture, from: Int64) throws {
    let raw = try f.raw()
    var prev = try #require(try f.gate.audit.record(seq: from - 1)?.hash ?? (from == 1 ? AuditChain.genesisHash : nil))
    var seq = from
    while let row = try f.gate.audit.record(seq: seq) {
        let hash = AuditChain.hash(seq: seq, prevHash: prev, entry: row.entry)
        try raw.run("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", prev, hash, seq)
        prev = hash
        seq += 1
    }
    try raw.run("UPDATE audit_head SET hash = ? WHERE id = 1", prev)
}

@Suite(.ownThread) struct AuditTests {
    @Test func anIntactLogVerifies() throws {
        let (f, _) = try fixtureWithFiveRows()
        let result = f.gate.verifyAudit()
        #expect(result.isOK, "\(result.summary)")
        #expect(result.rowCount == 5)
        #expect(result.head?.seq == 5)
        #expect(result.summary.hasPrefix("OK: 5 row(s), head 5 "))
        // Small pages walk the same chain.
        #expect(AuditVerifier.verify(f.gate.audit, pageSize: 2) == result)
    }

    @Test func anEmptyLogVerifies() throws {
        let f = try GateFixture()
        let result = f.gate.verifyAudit()
        #expect(result.isOK && result.rowCount == 0 && result.head == nil)
    }

    @Test func anEditedRowIsNamed() throws {
        let (f, _) = try fixtureWithFiveRows()
        try f.raw().execute("UPDATE audit_log SET decision = 'allow', reason = 'grant 1 (gpio.write)' WHERE seq = 3")
        let result = f.gate.verifyAudit()
        #expect(result.problems == [.hashMismatch(seq: 3)])
        #expect(result.summary.contains("row 3: hash does not match its contents (row edited)"))
    }

    @Test func anEditedRowWithARecomputedHashBreaksTheNextLink() throws {
        let (f, _) = try fixtureWithFiveRows()
        var row = try #require(try f.gate.audit.record(seq: 3))
        row.entry.reason = "nothing to see"
        let hash = AuditChain.hash(seq: 3, prevHash: row.prevHash, entry: row.entry)
        try f.raw().run("UPDATE audit_log SET reason = ?, hash = ? WHERE seq = 3", row.entry.reason, hash)
        #expect(f.gate.verifyAudit().problems == [.brokenLink(seq: 4)])
    }

    @Test func aDeletedMiddleRowIsNamed() throws {
        let (f, _) = try fixtureWithFiveRows()
        try f.raw().execute("DELETE FROM audit_log WHERE seq = 3")
        let result = f.gate.verifyAudit()
        #expect(result.problems == [.missingRows(from: 3, to: 3)])
        #expect(result.rowCount == 4)
    }

    @Test func aDeletedFirstRowIsNamed() throws {
        let (f, _) = try fixtureWithFiveRows()
        try f.raw().execute("DELETE FROM audit_log WHERE seq <= 2")
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 1, to: 2)])
    }

    @Test func aDeletedLastRowShowsAtTheHead() throws {
        let (f, caller) = try fixtureWithFiveRows()
        try f.raw().execute("DELETE FROM audit_log WHERE seq = 5")
        let result = f.gate.verifyAudit()
        #expect(result.problems == [.headMismatch(headSeq: 5, lastSeq: 4)])
        #expect(result.summary.contains("rows at the end were deleted"))
        // The chain goes on after the head, so the hole stays visible.
        #expect(f.send(try caller.request()).auditSeq == 6)
        #expect(f.gate.verifyAudit().problems == [.missingRows(from: 5, to: 5)])
    }

    @Test func everyRowDeletedShowsAtTheHead() throws {
        let (f, _) = try fixtureWithFiveRows()
        try f.raw().execute("DELETE FROM audit_log")
        #expect(f.gate.verifyAudit().problems == [.headMismatch(headSeq: 5, lastSeq: nil)])
    }

    @Test func aDeletedHeadIsReportedAndStopsTheGateAtItsNextStart() throws {
        let (f, caller) = try fixtureWithFiveRows()
        try f.raw().execute("DELETE FROM audit_head")
        #expect(f.gate.verifyAudit().problems == [.headMismatch(headSeq: nil, lastSeq: 5)])
        // The running gate keeps its head in memory: the chain goes on at row 6 (no fork) and the head row is back.
        #expect(f.send(try caller.request()).auditSeq == 6)
        #expect(f.gate.verifyAudit().isOK)
        // Deleted while the agent is stopped: the next start cannot know where the chain ends, so every call is denied.
        try f.raw().execute("DELETE FROM audit_head")
        try f.gate.audit.close()
        let restarted = Gate(store: f.store) { testMethods[$0] }
        guard case .failure(let error) = restarted.auditOpening else {
            Issue.record("the journal opened over a missing head")
            return
        }
        #expect(error.description.contains("audit head row is missing"))
        let decision = restarted.authorize(.signed(try caller.request(), rawJSON: ""), now: testNow)
        #expect(!decision.allowed && decision.auditSeq == nil)
    }

    @Test func aFullRewriteNeedsAnAnchorToShow() throws {
        let (f, _) = try fixtureWithFiveRows()
        let anchor = try #require(try f.gate.audit.record(seq: 3)).hash
        try f.raw().execute("UPDATE audit_log SET reason = 'rewritten' WHERE seq = 2")
        try rehash(f, from: 2)
        #expect(f.gate.verifyAudit().isOK)  // consistent again: the limit of a hash chain on the same disk
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 3, hash: anchor)).problems == [.anchorMismatch(seq: 3)])
        #expect(f.gate.verifyAudit(anchor: AuditHead(seq: 9, hash: anchor)).problems == [.anchorMismatch(seq: 9)])
        let head = try #require(try f.gate.audit.head())
        #expect(f.gate.verifyAudit(anchor: head).isOK)
    }

    @Test func hashEncodingKnownAnswers() {
        // Computed independently (Python hashlib/struct) from the encoding in docs/gate.md.
        let first = AuditEntry(
            at: 1_764_000_000_123, subject: "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y", caller: .signed,
            method: "gpio.write", capability: "gpio.write", decision: .allow, reason: "grant 1 (gpio.*)",
            request: "{\"x\":1}")
        let h1 = AuditChain.hash(seq: 1, prevHash: AuditChain.genesisHash, entry: first)
        #expect(Hex.encode(h1) == "25c841b0a903e502af5a3517f75e549bd540aa1ab33e2411b85d3ee02045790d")
        let second = AuditEntry(
            at: -5, subject: "uid:0", caller: .admin, method: "grant.revoke", capability: "", decision: .deny, reason: "\u{e9}",
            request: "")
        #expect(
            Hex.encode(AuditChain.hash(seq: 2, prevHash: h1, entry: second))
                == "fc2d4508807eb64620fc3f6e8e4e202935b5dbe84a6df26355216910eb5b8bfe")
        // Length prefixes keep field boundaries: moving a character between fields changes the hash.
        var shifted = first
        shifted.subject += "g"
        shifted.method = "pio.write"
        #expect(AuditChain.hash(seq: 1, prevHash: AuditChain.genesisHash, entry: shifted) != h1)
    }

    @Test func listingFilters() throws {
        let (f, caller) = try fixtureWithFiveRows()
        #expect(try f.gate.auditList(AuditFilter(subject: caller.did.description)).map(\.seq) == [2, 3])
        #expect(try f.gate.auditList(AuditFilter(decision: .deny)).map(\.seq) == [3, 5])
        #expect(try f.gate.auditList(AuditFilter(limit: 2)).map(\.seq) == [4, 5])
        #expect(try f.gate.auditList(AuditFilter(sinceMillis: testNow * 1000 + 1)).isEmpty)
        #expect(try f.gate.auditList(AuditFilter(subject: "uid:0")).map(\.entry.method) == ["grant.add", "gpio.read"])
    }
}

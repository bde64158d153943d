import ElaSQLite
import ElaStorage
import ElaTestSupport
import Testing

/// A stand-in for the gate's SHA-256 chain: deterministic, depends on every input the real one does.
let testHash: AuditHashFunction = { seq, prev, entry in
    var h = [UInt8](repeating: 0, count: 32)
    let bytes = prev + Array("\(seq)|\(entry.at)|\(entry.subject)|\(entry.reason)|\(entry.request)".utf8)
    for (i, b) in bytes.enumerated() { h[i % 32] = h[i % 32] &* 31 &+ b }
    return h
}

func entry(_ n: Int, subject: String = "did:elastos:a", decision: AuditDecision = .allow, at: Int64? = nil) -> AuditEntry {
    AuditEntry(
        at: at ?? Int64(1000 * n), subject: subject, caller: .signed, method: "gpio.write", capability: "gpio.write",
        decision: decision, reason: "r\(n)", request: "{\"n\":\(n)}")
}

@Suite(.ownThread) struct GateStoresTests {
    @Test func migrationFourUpgradesAVersionThreeDatabase() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        do {
            let conn = try SQLiteConnection(path: path)
            try SQLiteMigrator(Array(AgentStore.migrations.migrations.prefix(3))).migrate(conn)
            #expect(try AgentStore.migrations.currentVersion(of: conn) == 3)
            conn.close()
        }
        let store = try AgentStore(path: path)
        store.close()
        let conn = try SQLiteConnection(path: path)
        #expect(try AgentStore.migrations.currentVersion(of: conn) == AgentStore.migrations.latestVersion)
        let tables = try conn.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") {
            try $0[0, as: String.self]
        }
        for table in ["grants", "owner", "gate_nonces", "audit_log", "audit_head"] { #expect(tables.contains(table)) }
    }

    /// Version 5 rebuilds the audit table to allow caller `session`: a version-4 log keeps every row, hash and
    /// index, and its chain goes on.
    @Test func migrationFiveKeepsAVersionFourAuditLogAndAllowsSessionCallers() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Three chained rows, made by the store, copied into a version-4 database as they are.
        let made = AuditLogStore(try AgentStore(path: dir.path + "/made.db"), hash: testHash)
        let rows = try (1...3).map { try made.append(entry($0)) }
        let path = dir.path + "/v4.db"
        do {
            let conn = try SQLiteConnection(path: path)
            try SQLiteMigrator(Array(AgentStore.migrations.migrations.prefix(4))).migrate(conn)
            #expect(throws: SQLiteError.self) {
                try conn.execute(
                    "INSERT INTO audit_log (seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash) VALUES (9, 0, 's', 'session', 'm', '', 'allow', '', '', x'00', x'00')")
            }
            for r in rows {
                let e = r.entry
                try conn.run(
                    "INSERT INTO audit_log (seq, at, subject, caller, method, capability, decision, reason, request, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    r.seq, e.at, e.subject, e.caller.rawValue, e.method, e.capability, e.decision.rawValue, e.reason, e.request, r.prevHash, r.hash)
            }
            try conn.run("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", rows[2].seq, rows[2].hash)
            conn.close()
        }
        let upgraded = AuditLogStore(try AgentStore(path: path), hash: testHash)
        #expect(try upgraded.records(afterSeq: 0, limit: 10) == rows)
        var session = entry(4)
        session.caller = .session
        let fourth = try upgraded.append(session)
        #expect(fourth.seq == 4 && fourth.prevHash == rows[2].hash && fourth.entry.caller == .session)
        #expect(try upgraded.list(AuditFilter(subject: "did:elastos:a", decision: nil, sinceMillis: nil, limit: 10)).count == 4)
        let indexes = try SQLiteConnection(path: path).query("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log'") {
            try $0[0, as: String.self]
        }
        #expect(Set(indexes) == ["audit_log_subject", "audit_log_at"])
    }

    @Test func grantsAddListExpireRemove() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        let grants = GrantStore(store)
        let a = try grants.add(subject: "did:elastos:a", capability: "gpio.*", constraints: "{}", expiresAt: nil, note: "n", now: 10)
        let b = try grants.add(
            subject: "did:elastos:b", capability: "gpio.write", constraints: "{\"pin\":[\"LED0\"]}", expiresAt: 100, note: "",
            now: 10)
        #expect(a.id != b.id)
        #expect(try grants.grant(id: b.id) == b)
        #expect(try grants.list(includeExpired: false, now: 100).map(\.id) == [a.id, b.id])  // valid through second 100
        #expect(try grants.list(includeExpired: false, now: 101).map(\.id) == [a.id])
        #expect(try grants.list(includeExpired: true, now: 101).map(\.id) == [a.id, b.id])
        #expect(try grants.list(subject: "did:elastos:b", includeExpired: true, now: 0) == [b])
        #expect(b.isExpired(at: 101) && !b.isExpired(at: 100) && !a.isExpired(at: .max))
        #expect(try grants.remove(id: a.id) == a)
        #expect(try grants.remove(id: a.id) == nil)
        #expect(try grants.list(includeExpired: true, now: 0) == [b])
    }

    @Test func noncesDetectReplaysAndArePrunedByAge() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let nonces = NonceStore(try AgentStore(path: dir.path + "/agent.db"))
        #expect(try nonces.insert(subject: "did:elastos:a", nonce: "00ff", seenAt: 100))
        #expect(try !nonces.insert(subject: "did:elastos:a", nonce: "00ff", seenAt: 101))
        #expect(try nonces.insert(subject: "did:elastos:b", nonce: "00ff", seenAt: 101))  // per subject
        #expect(try nonces.insert(subject: "did:elastos:a", nonce: "0100", seenAt: 700))
        #expect(try nonces.count() == 3)
        #expect(try nonces.prune(seenBefore: 101) == 1)
        #expect(try nonces.count() == 2)
        #expect(try nonces.insert(subject: "did:elastos:a", nonce: "00ff", seenAt: 800))  // forgotten after pruning
    }

    @Test func ownerIsASingleReplaceableRow() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        #expect(try store.owner() == nil)
        try store.setOwner(did: "did:elastos:a", document: "{}", now: 1)
        try store.setOwner(did: "did:elastos:b", document: "{\"id\":1}", now: 2)
        #expect(try store.owner() == OwnerRecord(did: "did:elastos:b", document: "{\"id\":1}", updatedAt: 2))
        #expect(try store.write { try store.removeOwner(in: $0) })
        #expect(try store.owner() == nil)
    }

    @Test func auditAppendsChainAndMoveTheHead() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = AuditLogStore(try AgentStore(path: dir.path + "/agent.db"), hash: testHash)
        #expect(try log.head() == nil)
        let first = try log.append(entry(1))
        let second = try log.append(entry(2))
        #expect(first.seq == 1 && second.seq == 2)
        #expect(first.prevHash == AuditLogStore.genesisHash)
        #expect(second.prevHash == first.hash)
        #expect(second.hash == testHash(2, first.hash, entry(2)))
        #expect(try log.head() == AuditHead(seq: 2, hash: second.hash))
        #expect(try log.records(afterSeq: 0, limit: 10) == [first, second])
        #expect(try log.records(afterSeq: 1, limit: 10) == [second])
        #expect(try log.record(seq: 1) == first)
        #expect(try log.count() == 2)
    }

    @Test func auditListFilters() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let log = AuditLogStore(try AgentStore(path: dir.path + "/agent.db"), hash: testHash)
        for n in 1...10 {
            try log.append(entry(n, subject: n % 2 == 0 ? "did:elastos:even" : "did:elastos:odd", decision: n % 3 == 0 ? .deny : .allow))
        }
        #expect(try log.list(AuditFilter()).map(\.seq) == Array(1...10))
        #expect(try log.list(AuditFilter(limit: 3)).map(\.seq) == [8, 9, 10])  // the newest, oldest first
        #expect(try log.list(AuditFilter(subject: "did:elastos:even")).map(\.seq) == [2, 4, 6, 8, 10])
        #expect(try log.list(AuditFilter(decision: .deny)).map(\.seq) == [3, 6, 9])
        #expect(try log.list(AuditFilter(sinceMillis: 7000)).map(\.seq) == [7, 8, 9, 10])
        #expect(try log.list(AuditFilter(subject: "did:elastos:even", decision: .deny, limit: 1)).map(\.seq) == [6])
    }

    @Test func aMissingHeadStopsAppendsInsteadOfForking() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        let log = AuditLogStore(try AgentStore(path: path), hash: testHash)
        try log.append(entry(1))
        let raw = try SQLiteConnection(path: path)
        try raw.execute("DELETE FROM audit_head")
        #expect(throws: AuditStoreError.headMissing(rows: 1)) { try log.append(entry(2)) }
        #expect(try log.count() == 1)
    }

    @Test func aFailingTransactionKeepsNeitherNonceNorAuditRow() throws {
        struct Boom: Error {}
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        let log = AuditLogStore(store, hash: testHash)
        let nonces = NonceStore(store)
        #expect(throws: Boom.self) {
            try store.write { tx in
                _ = try nonces.insert(subject: "did:elastos:a", nonce: "aa", seenAt: 1, in: tx)
                _ = try log.append(entry(1), in: tx)
                throw Boom()
            }
        }
        #expect(try nonces.count() == 0)
        #expect(try log.count() == 0)
        #expect(try log.head() == nil)
    }

    @Test func anEditedCallerValueIsATypedError() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        let log = AuditLogStore(try AgentStore(path: path), hash: testHash)
        try log.append(entry(1))
        // The CHECK constraint stops plain edits; a tamperer who disables it can still store anything.
        let raw = try SQLiteConnection(path: path)
        try raw.execute("PRAGMA ignore_check_constraints = ON; UPDATE audit_log SET caller = 'root' WHERE seq = 1")
        #expect(throws: AuditStoreError.invalidValue(seq: 1, column: "caller", value: "root")) { try log.record(seq: 1) }
    }
}

import ElaMQTTBridge
import ElaSQLite
import ElaTestSupport
import Testing

/// The outbox on real SQLite files in temporary directories.
@Suite struct OutboxTests {
    func entry(_ topic: String, _ n: Int, bytes: Int = 0) -> OutboxEntry {
        var payload = Array("m\(n)".utf8)
        if bytes > payload.count { payload += [UInt8](repeating: 0x61, count: bytes - payload.count) }
        return OutboxEntry(topic: topic, payload: payload, createdMs: Int64(1000 + n))
    }

    @Test func messagesLeaveOnlyWhenAcknowledgedAndSurviveReopening() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let path = dir.path + "/outbox.db"
        do {
            let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
            let c = try o.commit(entries: (0..<10).map { entry("t/\($0 % 2)", $0) }, delivered: [], take: 4)
            #expect(c.taken.map(\.seq) == [1, 2, 3, 4])
            #expect(c.taken.map { String(decoding: $0.payload, as: UTF8.self) } == ["m0", "m1", "m2", "m3"])
            // The next take continues after what was handed out; acknowledged ones leave.
            let c2 = try o.commit(entries: [], delivered: [1, 2], take: 3)
            #expect(c2.taken.map(\.seq) == [5, 6, 7])
            #expect(o.stats.depth == 8 && o.stats.counters.sent == 2 && o.stats.inFlight == 5)
            #expect(o.stats.oldestCreatedMs == 1002)
            // An acknowledgement for something never handed out changes nothing.
            _ = try o.commit(entries: [], delivered: [9, 99], take: 0)
            #expect(o.stats.depth == 8)
        }
        // Reopened (as after a crash): the 8 left go again, 5 of them possibly twice (counted).
        let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
        #expect(o.stats.depth == 8)
        #expect(o.stats.counters.duplicates == 5 && o.stats.counters.sent == 2 && o.stats.counters.accepted == 10)
        let again = try o.commit(entries: [], delivered: [], take: 100)
        #expect(again.taken.map(\.seq) == Array(3...10))
    }

    /// PUBACKs between commits: the messages count as sent and no longer as waiting at once, and leave the file with
    /// the next commit (no transaction of their own). Killed before that, they go again (counted as duplicates).
    @Test func acknowledgedMessagesLeaveWithTheNextCommit() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let path = dir.path + "/outbox.db"
        do {
            let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
            _ = try o.commit(entries: (0..<4).map { entry("t", $0) }, delivered: [], take: 4)
            let transactions = o.stats.transactions
            o.acknowledge([1, 2, 77])  // 77 was never handed out
            #expect(o.unremovedDeliveries == 2 && o.stats.transactions == transactions)
            #expect(o.stats.depth == 2 && o.stats.inFlight == 2 && o.stats.counters.sent == 2 && o.stats.oldestCreatedMs == 1002)
            #expect(try o.all().map(\.seq) == [1, 2, 3, 4])
            _ = try o.commit(entries: [entry("t", 4)], delivered: [], take: 0)
            #expect(o.unremovedDeliveries == 0 && o.stats.counters.sent == 2)
            #expect(try o.all().map(\.seq) == [3, 4, 5])
            o.acknowledge([3])
        }
        // Reopened before a commit removed 3: it is stored, goes again, and counts as a duplicate.
        let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
        #expect(o.stats.depth == 3 && o.stats.counters.sent == 2 && o.stats.counters.duplicates == 2)
        #expect(try o.commit(entries: [], delivered: [], take: 10).taken.map(\.seq) == [3, 4, 5])
    }

    /// A commit that fails halfway (here: a trigger another connection installed refuses the insert, after the
    /// acknowledged rows were deleted) changes nothing in memory either: acknowledged messages are still removed by
    /// the next commit, nothing taken is lost, and the host's events are not marked as stored.
    @Test func aFailedCommitLeavesTheOutboxAsItWas() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let path = dir.path + "/outbox.db"
        let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
        _ = try o.commit(entries: (0..<4).map { entry("t", $0) }, delivered: [], take: 4)
        o.acknowledge([1, 2])
        let before = o.stats
        let other = try SQLiteConnection(path: path)
        defer { other.close() }
        try other.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        var next = entry("t", 4)
        next.source = EventSource(epoch: "e", seq: 9)
        #expect(throws: OutboxError.self) { try o.commit(entries: [next], delivered: [], take: 10) }
        var after = o.stats
        after.transactions -= 1  // the failed one is counted
        #expect(after == before)
        #expect(o.unremovedDeliveries == 2)
        #expect(try o.all().map(\.seq) == [1, 2, 3, 4])
        try other.execute("DROP TRIGGER refuse")
        let retried = try o.commit(entries: [next], delivered: [], take: 10)
        #expect(retried.taken.map(\.seq) == [5] && retried.storedSource == EventSource(epoch: "e", seq: 9))
        #expect(try o.all().map(\.seq) == [3, 4, 5])
        #expect(o.stats.depth == 3 && o.stats.counters.accepted == 5 && o.stats.counters.sent == 2)
    }

    @Test func theCountLimitDropsExactlyTheOldestNotYetHandedOut() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let o = try Outbox(path: dir.path + "/o.db", maxMessages: 1000, maxBytes: 1 << 30, policy: .dropOldest)
        // Two handed out (in flight) first: they must not be dropped.
        _ = try o.commit(entries: [entry("t", 0), entry("t", 1)], delivered: [], take: 2)
        var dropped = 0
        for batch in 0..<30 {
            let c = try o.commit(entries: (0..<100).map { entry("t", 2 + batch * 100 + $0) }, delivered: [], take: 0)
            dropped += c.dropped
        }
        // 3002 stored, limit 1000: exactly 2002 dropped, the oldest after the two in flight.
        #expect(dropped == 2002)
        #expect(o.stats.counters.dropped == 2002 && o.stats.depth == 1000)
        let left = try o.all()
        #expect(left.prefix(2).map(\.seq) == [1, 2])
        #expect(left.dropFirst(2).first.map { String(decoding: $0.payload, as: UTF8.self) } == "m2004")
        #expect(left.last.map { String(decoding: $0.payload, as: UTF8.self) } == "m3001")
    }

    @Test func theByteLimitAndDropNewest() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let o = try Outbox(path: dir.path + "/o.db", maxMessages: 1000, maxBytes: 10_000, policy: .dropOldest)
        let c = try o.commit(entries: (0..<25).map { entry("t", $0, bytes: 1000) }, delivered: [], take: 0)
        #expect(c.dropped == 15 && o.stats.bytes == 10_000 && o.stats.depth == 10)

        let n = try Outbox(path: dir.path + "/n.db", maxMessages: 5, maxBytes: 1 << 20, policy: .dropNewest)
        let d = try n.commit(entries: (0..<8).map { entry("t", $0) }, delivered: [], take: 0)
        #expect(d.dropped == 3)
        #expect(try n.all().map { String(decoding: $0.payload, as: UTF8.self) } == ["m0", "m1", "m2", "m3", "m4"])
    }

    @Test func hostRedeliveriesAreSkippedByEpochAndSequence() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let path = dir.path + "/o.db"
        func e(_ epoch: String, _ seq: Int64) -> OutboxEntry {
            OutboxEntry(topic: "t", payload: Array("\(epoch)-\(seq)".utf8), createdMs: 0, source: EventSource(epoch: epoch, seq: seq))
        }
        do {
            let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
            let c = try o.commit(entries: (1...5).map { e("a", $0) }, delivered: [], take: 0)
            #expect(c.storedSource == EventSource(epoch: "a", seq: 5))
        }
        let o = try Outbox(path: path, maxMessages: 100, maxBytes: 1 << 20, policy: .dropOldest)
        // The host resends 3...7 after a restart: 3...5 are already stored.
        let c = try o.commit(entries: (3...7).map { e("a", $0) }, delivered: [], take: 0)
        #expect(c.storedSource == EventSource(epoch: "a", seq: 7))
        #expect(o.stats.counters.redeliveriesSkipped == 3 && o.stats.depth == 7)
        // A new epoch (the agent restarted) starts over.
        _ = try o.commit(entries: [e("b", 1)], delivered: [], take: 0)
        #expect(o.stats.depth == 8)
    }

    @Test func aFileThatIsNotADatabaseIsATypedError() throws {
        let dir = TemporaryDirectory(prefix: "ela-outbox")
        defer { dir.remove() }
        let path = dir.write("junk.db", String(repeating: "not sqlite ", count: 100))
        #expect(throws: OutboxError.self) { _ = try Outbox(path: path, maxMessages: 1, maxBytes: 1024, policy: .dropOldest) }
    }
}

import ElaSPV
import ElaTestSupport
import Testing

@Suite(.ownThread) struct PeerPolicyTests {
    @Test func liesBanAtOnceSlipsAddUp() {
        var board = PeerScoreboard()
        let first = board.record("a:1", penalty: 20, now: 0)
        #expect(!first)
        #expect(board.score("a:1") == 20)
        for _ in 0..<3 { board.record("a:1", penalty: 20, now: 0) }
        #expect(!board.isBanned("a:1", now: 0))
        let fifth = board.record("a:1", penalty: 20, now: 0)
        #expect(fifth)  // 100: banned
        #expect(board.isBanned("a:1", now: 1))
        #expect(!board.isBanned("a:1", now: PeerScoreboard.banSeconds + 1))  // the ban ends
        let lie = board.record("b:2", penalty: 100, now: 5)
        #expect(lie)  // a proven lie bans immediately
        let timeout = board.record("c:3", penalty: 0, now: 5)
        #expect(!timeout)  // timeouts and closed links cost nothing
        #expect(board.earliestUnban(of: ["a:1", "b:2", "c:3"], now: 10) == PeerScoreboard.banSeconds)  // a:1, banned at 0, is first free
    }

    @Test func timeoutsAndKeepAlive() {
        let t = PeerTimeouts(handshake: 30, stall: 60, keepAlive: 120)
        #expect(t.check(phase: .handshaking, waiting: false, connectedAt: 0, lastReceived: 0, lastPing: 0, now: 10) == .fine)
        guard case .disconnect = t.check(phase: .handshaking, waiting: false, connectedAt: 0, lastReceived: 25, lastPing: 0, now: 31) else {
            Issue.record("handshake timeout expected")
            return
        }
        guard case .disconnect = t.check(phase: .syncing, waiting: true, connectedAt: 0, lastReceived: 100, lastPing: 100, now: 161) else {
            Issue.record("stall timeout expected")
            return
        }
        #expect(t.check(phase: .synced, waiting: false, connectedAt: 0, lastReceived: 100, lastPing: 100, now: 161) == .fine)
        #expect(t.check(phase: .synced, waiting: false, connectedAt: 0, lastReceived: 100, lastPing: 100, now: 221) == .ping)
        #expect(t.check(phase: .synced, waiting: false, connectedAt: 0, lastReceived: 100, lastPing: 221, now: 300) == .fine)
        guard case .disconnect = t.check(phase: .synced, waiting: false, connectedAt: 0, lastReceived: 100, lastPing: 221, now: 341) else {
            Issue.record("silent peer should be dropped")
            return
        }
    }
}

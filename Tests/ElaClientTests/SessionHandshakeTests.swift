import ElaCarrier
@testable import ElaClient
import ElaCrypto
import ElaIdentity
import ElaTestSupport
import Logging
import Synchronization
import Testing

/// The DApp's side of the session handshake on its own (no transport running: answers go nowhere): which key a
/// challenge is answered with, and when a challenge ends the open session.
@Suite struct SessionHandshakeTests {
    func makeClient() throws -> CarrierClient {
        let key = ElaPrivateKey.generate()
        let did = try DID(ElaAddress.did(for: key.publicKey))
        var o = CarrierClient.Options()
        o.carrierExecutable = ChildProcess.product("ela-carrier")
        let device = try CarrierAddress(publicKey: [UInt8](repeating: 7, count: 32), nospam: 1)
        let client = try CarrierClient(did: did, key: key, device: device, options: o, logger: Logger(label: "test"))
        client.state.withLock { $0.ownKey = [UInt8](repeating: 9, count: 32) }
        return client
    }

    @Test func aRepeatedChallengeIsAnsweredWithTheSameKeyAndDoesNotEndTheOpenSession() async throws {
        let client = try makeClient()
        defer { Task { await client.close() } }
        let deviceKey = Hex.encode(SessionKeyPair().publicKey)
        await client.received(.challenge("c1", device: "did:elastos:x", sessionKey: deviceKey))
        let first = try #require(client.state.withLock { $0.sessionPair?.publicKey })
        // The device repeats its challenge after a resume: whichever answer it accepts, the keys must agree.
        await client.received(.challenge("c1", device: "did:elastos:x", sessionKey: deviceKey))
        #expect(client.state.withLock { $0.sessionPair?.publicKey } == first)
        // A ready for another challenge (a session the device replaced) does not open ours.
        await client.received(.ready(challenge: "c0"))
        #expect(!client.isReady)
        await client.received(.ready(challenge: "c1"))
        #expect(client.isReady)
        // A copy of the open session's challenge that crossed our answer: the session stays open.
        await client.received(.challenge("c1", device: "did:elastos:x", sessionKey: deviceKey))
        #expect(client.isReady)
        // A new challenge is a new session: a fresh key, not open until the device says so.
        await client.received(.challenge("c2", device: "did:elastos:x", sessionKey: deviceKey))
        #expect(!client.isReady)
        #expect(client.state.withLock { $0.sessionPair?.publicKey } != first)
    }

    /// The device forgets subscriptions with a session; the next session renews them under fresh ids (its replay
    /// window would refuse the old ones once a newer id was seen), and a confirmation of the open session renews nothing.
    @Test func aNewSessionRenewsSubscriptionsUnderFreshIds() async throws {
        let client = try makeClient()
        defer { Task { await client.close() } }
        let (_, continuation) = AsyncStream.makeStream(of: CarrierClient.Event.self)
        client.state.withLock { s in
            s.subscriptions[1] = CarrierClient.Subscription(event: "sensors.reading", continuation: continuation)
            s.nextID = 500
        }
        let deviceKey = Hex.encode(SessionKeyPair().publicKey)
        await client.received(.challenge("c1", device: "d", sessionKey: deviceKey))
        await client.received(.ready(challenge: "c1"))
        #expect(client.state.withLock { Array($0.subscriptions.keys) } == [1], "the first session renews nothing")
        await client.received(.ready(challenge: "c1"))
        #expect(client.sessionCount == 1, "a confirmation is not a new session")
        await client.received(.challenge("c2", device: "d", sessionKey: deviceKey))
        await client.received(.ready(challenge: "c2"))
        #expect(client.sessionCount == 2)
        // Each renewal takes its id just before it is sent (a task of its own); with nothing to send it over, the
        // subscription stays for the next session rather than ending.
        var renewed = false
        for _ in 0..<200 where !renewed {
            renewed = client.state.withLock { (Array($0.subscriptions.keys), $0.nextID) } == ([500], 501)
            if !renewed { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(renewed, "\(client.state.withLock { (Array($0.subscriptions.keys), $0.nextID) })")
    }

    /// A renewal whose wait timed out here and that the device denied afterwards: its stream ends then, not with the
    /// next session. A late denial of a plain call touches no subscription.
    @Test func aLateDenialOfARenewalEndsItsStream() async throws {
        let client = try makeClient()
        defer { Task { await client.close() } }
        let (stream, continuation) = AsyncStream.makeStream(of: CarrierClient.Event.self)
        client.state.withLock { $0.subscriptions[7] = CarrierClient.Subscription(event: "sensors.reading", continuation: continuation) }
        await client.received(.reply(id: 3, result: .failure(RemoteError(code: RemoteError.denied, message: "no grant for gpio.read"))))
        #expect(client.state.withLock { Array($0.subscriptions.keys) } == [7])
        await client.received(.reply(id: 7, result: .failure(RemoteError(code: RemoteError.denied, message: "no grant covers sensors.subscribe"))))
        #expect(client.state.withLock { $0.subscriptions.isEmpty })
        #expect(client.lastSubscriptionEnd == "no grant covers sensors.subscribe")
        var events = 0
        for await _ in stream { events += 1 }
        #expect(events == 0, "the stream finished")
    }

    @Test func withoutADeviceKeyOrWithSignedCallsThereIsNoSessionKey() async throws {
        let client = try makeClient()
        defer { Task { await client.close() } }
        await client.received(.challenge("c1", device: "did:elastos:x", sessionKey: nil))
        #expect(client.state.withLock { $0.sessionKey == nil })
        // A low-order point from a broken or hostile device: refused, calls fall back to signatures.
        await client.received(.challenge("c2", device: "did:elastos:x", sessionKey: String(repeating: "00", count: 32)))
        #expect(client.state.withLock { $0.sessionKey == nil })
    }
}

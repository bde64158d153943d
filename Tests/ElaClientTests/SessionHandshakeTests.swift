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
        await client.received(.ready)
        #expect(client.isReady)
        // A copy of the open session's challenge that crossed our answer: the session stays open.
        await client.received(.challenge("c1", device: "did:elastos:x", sessionKey: deviceKey))
        #expect(client.isReady)
        // A new challenge is a new session: a fresh key, not open until the device says so.
        await client.received(.challenge("c2", device: "did:elastos:x", sessionKey: deviceKey))
        #expect(!client.isReady)
        #expect(client.state.withLock { $0.sessionPair?.publicKey } != first)
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

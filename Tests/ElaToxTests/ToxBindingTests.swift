import ElaTestSupport
import ElaTox
import Testing

/// The binding without a network: identities, addresses, typed errors.
@Suite struct ToxBindingTests {
    func checksumOK(_ a: [UInt8]) -> Bool {
        var c: [UInt8] = [0, 0]
        for (i, b) in a.prefix(36).enumerated() { c[i % 2] ^= b }
        return c == Array(a.suffix(2))
    }

    @Test func aSecretKeyGivesTheSameIdentityAndNospamTheSameAddress() throws {
        var o = ToxOptions()
        o.udpEnabled = false
        let first = try Tox(o)
        #expect(first.address.count == 38 && first.publicKey.count == 32 && checksumOK(first.address))
        #expect(Array(first.address.prefix(32)) == first.publicKey)
        #expect(first.iterationIntervalMs > 0)
        #expect(Tox.maxMessageLength == 1372 && Tox.maxFriendRequestLength == 1016)
        first.nospam = 0x0102_0304
        o.secretKey = first.secretKey
        let again = try Tox(o)
        again.nospam = 0x0102_0304
        #expect(again.publicKey == first.publicKey && again.address == first.address)
        #expect(again.connection == .none && again.friends.isEmpty)
    }

    @Test func mistakesAreTypedErrors() throws {
        var o = ToxOptions()
        o.udpEnabled = false
        o.secretKey = [1, 2, 3]
        #expect(throws: ToxError.self) { try Tox(o) }
        o.secretKey = nil
        let tox = try Tox(o)
        #expect(throws: ToxError.self) { try tox.bootstrap(host: "127.0.0.1", port: 33445, publicKey: [1, 2]) }
        var bad = tox.address
        bad[37] ^= 0xFF
        #expect(throws: ToxError.self) { try tox.addFriend(address: bad, message: Array("hi".utf8)) }
        #expect(throws: ToxError.self) { try tox.addFriend(address: tox.address, message: Array("hi".utf8)) }  // own key
        #expect(throws: ToxError.self) { try tox.sendMessage(friend: 99, [1]) }
        let other = try Tox(o)
        let n = try tox.addFriendNoRequest(publicKey: other.publicKey)
        #expect(tox.friend(publicKey: other.publicKey) == n && tox.publicKey(ofFriend: n) == other.publicKey)
        #expect(try tox.addFriendNoRequest(publicKey: other.publicKey) == n, "adding again returns the same friend")
        tox.deleteFriend(n)
        #expect(tox.friend(publicKey: other.publicKey) == nil)
    }
}

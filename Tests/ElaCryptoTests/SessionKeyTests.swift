@testable import ElaCrypto
import Testing

struct SessionKeyTests {
    // RFC 7748 section 6.1: Alice's and Bob's X25519 keys.
    let alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    let alicePublic = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    let bobPrivate = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"

    /// The expected tag was computed apart from this code (Python's hmac/hashlib): HKDF-SHA256 over RFC 7748's shared
    /// secret 4a5d9d5b...1e161742 with salt "abcd" and info "ela-test", then HMAC-SHA256 of "hello".
    @Test func bothSidesDeriveTheKnownKey() throws {
        let alice = try SessionKeyPair(privateKey: Hex.decode(alicePrivate))
        let bob = try SessionKeyPair(privateKey: Hex.decode(bobPrivate))
        #expect(Hex.encode(alice.publicKey) == alicePublic)
        #expect(Hex.encode(bob.publicKey) == bobPublic)
        let a = try alice.agree(peerPublicKey: bob.publicKey, salt: Array("abcd".utf8), info: Array("ela-test".utf8))
        let b = try bob.agree(peerPublicKey: alice.publicKey, salt: Array("abcd".utf8), info: Array("ela-test".utf8))
        let expected = "216af99fac17125674a2046617d9f7f2cb16edc80df1fbeed32525edb2aaadf4"
        #expect(Hex.encode(a.tag(Array("hello".utf8))) == expected)
        #expect(Hex.encode(b.tag(Array("hello".utf8))) == expected)
        #expect(b.isValid(tag: try Hex.decode(expected), over: Array("hello".utf8)))
    }

    @Test func tagsFailForOtherKeysMessagesAndLengths() throws {
        let one = SessionKeyPair(), two = SessionKeyPair(), three = SessionKeyPair()
        let key = try one.agree(peerPublicKey: two.publicKey, salt: [1], info: [])
        let other = try one.agree(peerPublicKey: three.publicKey, salt: [1], info: [])
        let salted = try one.agree(peerPublicKey: two.publicKey, salt: [2], info: [])
        let tag = key.tag([1, 2, 3])
        #expect(key.isValid(tag: tag, over: [1, 2, 3]))
        #expect(!key.isValid(tag: tag, over: [1, 2, 4]))
        #expect(!other.isValid(tag: tag, over: [1, 2, 3]))
        #expect(!salted.isValid(tag: tag, over: [1, 2, 3]))
        #expect(!key.isValid(tag: Array(tag.dropLast()), over: [1, 2, 3]))
        #expect(!key.isValid(tag: [], over: [1, 2, 3]))
    }

    @Test func refusesMalformedAndLowOrderPeerKeys() {
        let pair = SessionKeyPair()
        #expect(throws: KeyError(.wrongLength(what: "X25519 session public key", expected: 32, actual: 31))) {
            try pair.agree(peerPublicKey: [UInt8](repeating: 9, count: 31), salt: [], info: [])
        }
        // Low-order points give an all-zero secret anyone could compute (swift-crypto on Linux does not refuse them).
        #expect(throws: KeyError.self) { try pair.agree(peerPublicKey: [UInt8](repeating: 0, count: 32), salt: [], info: []) }
        // u = 1 has order 4: a clamped scalar (a multiple of 8) maps it to zero as well.
        #expect(throws: KeyError.self) { try pair.agree(peerPublicKey: [1] + [UInt8](repeating: 0, count: 31), salt: [], info: []) }
    }
}

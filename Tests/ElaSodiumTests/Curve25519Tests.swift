import ElaSodium
import Testing

@Suite struct Curve25519Tests {
    /// RFC 7748 section 6.1: Alice's and Bob's key pairs.
    @Test func rfc7748PublicKeys() throws {
        let alice = try Curve25519.publicKey(secretKey: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        #expect(alice == hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
        let bob = try Curve25519.publicKey(secretKey: hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(bob == hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"))
        #expect(throws: SodiumError.invalidKeyLength(expected: 32, got: 31)) { try Curve25519.publicKey(secretKey: [UInt8](repeating: 1, count: 31)) }
    }
}

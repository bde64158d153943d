import ElaSodium
import ElaTestSupport
import Testing

@Suite("XChaCha20-Poly1305", .ownThread)
struct XChaCha20Poly1305Tests {
    let key = XChaCha20Poly1305.randomKey()
    let nonce = XChaCha20Poly1305.randomNonce()
    let associatedData: [UInt8] = Array("header".utf8)
    let plaintext = SecretBytes(Array("the device private key".utf8))

    @Test func lengths() {
        #expect(XChaCha20Poly1305.keyLength == 32)
        #expect(XChaCha20Poly1305.nonceLength == 24)
        #expect(XChaCha20Poly1305.tagLength == 16)
    }

    @Test func roundTrip() throws {
        let sealed = try XChaCha20Poly1305.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
        #expect(sealed.count == plaintext.count + XChaCha20Poly1305.tagLength)
        let opened = try XChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: associatedData)
        #expect(opened == plaintext)

        let fromArray = try XChaCha20Poly1305.seal([1, 2, 3], key: key, nonce: nonce)
        #expect(try XChaCha20Poly1305.open(fromArray, key: key, nonce: nonce) == SecretBytes([1, 2, 3]))
        let empty = try XChaCha20Poly1305.seal(SecretBytes([]), key: key, nonce: nonce)
        #expect(try XChaCha20Poly1305.open(empty, key: key, nonce: nonce).isEmpty)
    }

    @Test func everyCiphertextAndTagByteIsAuthenticated() throws {
        let sealed = try XChaCha20Poly1305.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
        // Covers the ciphertext body and the 16-byte tag at the end.
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: SodiumError.authenticationFailed) {
                try XChaCha20Poly1305.open(tampered, key: key, nonce: nonce, associatedData: associatedData)
            }
        }
    }

    @Test func associatedDataNonceAndKeyAreAuthenticated() throws {
        let sealed = try XChaCha20Poly1305.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
        for index in associatedData.indices {
            var otherData = associatedData
            otherData[index] ^= 0x80
            #expect(throws: SodiumError.authenticationFailed) {
                try XChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: otherData)
            }
        }
        #expect(throws: SodiumError.authenticationFailed) {
            try XChaCha20Poly1305.open(sealed, key: key, nonce: nonce, associatedData: [])
        }
        for index in nonce.indices {
            var otherNonce = nonce
            otherNonce[index] ^= 0x01
            #expect(throws: SodiumError.authenticationFailed) {
                try XChaCha20Poly1305.open(sealed, key: key, nonce: otherNonce, associatedData: associatedData)
            }
        }
        #expect(throws: SodiumError.authenticationFailed) {
            try XChaCha20Poly1305.open(
                sealed, key: XChaCha20Poly1305.randomKey(), nonce: nonce, associatedData: associatedData)
        }
    }

    @Test func badSizesAreTypedErrors() {
        #expect(throws: SodiumError.invalidKeyLength(expected: 32, got: 31)) {
            try XChaCha20Poly1305.seal([1], key: SecretBytes([UInt8](repeating: 0, count: 31)), nonce: nonce)
        }
        #expect(throws: SodiumError.invalidNonceLength(expected: 24, got: 12)) {
            try XChaCha20Poly1305.seal([1], key: key, nonce: [UInt8](repeating: 0, count: 12))
        }
        #expect(throws: SodiumError.ciphertextTooShort(minimum: 16, got: 15)) {
            try XChaCha20Poly1305.open([UInt8](repeating: 0, count: 15), key: key, nonce: nonce)
        }
        #expect(throws: SodiumError.authenticationFailed) {
            try XChaCha20Poly1305.open([UInt8](repeating: 0, count: 16), key: key, nonce: nonce)
        }
    }

    /// draft-irtf-cfrg-xchacha-03, appendix A.3.1 (AEAD_XChaCha20_Poly1305 example).
    @Test func draftXChaChaVectorA31() throws {
        let key = SecretBytes(hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"))
        let nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
        let associatedData = hex("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array(
            "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
                .utf8)
        let ciphertext = hex(
            """
            bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
            731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
            2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
            21f9664c97637da9768812f615c68b13b52e
            """)
        let tag = hex("c0875924c1c7987947deafd8780acf49")

        let sealed = try XChaCha20Poly1305.seal(plaintext, key: key, nonce: nonce, associatedData: associatedData)
        #expect(sealed == ciphertext + tag)
        let opened = try XChaCha20Poly1305.open(ciphertext + tag, key: key, nonce: nonce, associatedData: associatedData)
        #expect(bytes(of: opened) == plaintext)
    }
}

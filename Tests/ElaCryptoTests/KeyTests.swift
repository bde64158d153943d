import ElaCrypto
import Testing

struct PublicKeyTests {
    /// user1's default key, from reference §1 (publicKeyBase58 and its hex).
    @Test func parsesBase58AndCompressedForms() throws {
        let key = try ElaPublicKey(base58: "vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg")
        #expect(Hex.encode(key.compressed) == "0318be94e5e1a48e965aa3c60ee949e3c3284bcd14b6279921a9c361b50bf69401")
        #expect(key.base58 == "vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg")
        let same = try ElaPublicKey(compressed: try Hex.decode("0318be94e5e1a48e965aa3c60ee949e3c3284bcd14b6279921a9c361b50bf69401"))
        #expect(same == key)
        #expect(Set([key, same]).count == 1)
    }

    @Test func rejectsWrongLengths() {
        for length in [0, 32, 34, 65] {
            #expect(throws: KeyError(.wrongLength(what: "compressed public key", expected: 33, actual: length))) {
                try ElaPublicKey(compressed: [UInt8](repeating: 0x02, count: length))
            }
        }
    }

    @Test func rejectsNonCompressedPrefixes() {
        for prefix: UInt8 in [0x00, 0x04, 0x06, 0xFF] {
            #expect(throws: KeyError(.notCompressedPoint(prefix: prefix))) {
                try ElaPublicKey(compressed: [prefix] + [UInt8](repeating: 0, count: 31) + [5])
            }
        }
    }

    /// x = 1 has no y on P-256 (x^3 - 3x + b is a non-residue mod p); x = 2^256 - 1 is not below p.
    @Test func rejectsPointsNotOnTheCurve() {
        #expect(throws: KeyError(.notOnCurve)) { try ElaPublicKey(compressed: [0x02] + [UInt8](repeating: 0, count: 31) + [1]) }
        #expect(throws: KeyError(.notOnCurve)) { try ElaPublicKey(compressed: [0x03] + [UInt8](repeating: 0xFF, count: 32)) }
        // x = 5 is on the curve, so the same shape is accepted.
        #expect(throws: Never.self) { try ElaPublicKey(compressed: [0x02] + [UInt8](repeating: 0, count: 31) + [5]) }
    }

    @Test func rejectsBadBase58() {
        #expect(throws: KeyError(.base58(Base58Error(.invalidCharacter("0", offset: 2))))) { try ElaPublicKey(base58: "vM0Y") }
        #expect(throws: KeyError.self) { try ElaPublicKey(base58: "") }
        // A 34-character DID id decodes to 25 bytes, not a key.
        #expect(throws: KeyError(.wrongLength(what: "compressed public key", expected: 33, actual: 25))) {
            try ElaPublicKey(base58: "iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y")
        }
    }
}

struct PrivateKeyTests {
    @Test func rejectsOutOfRangeScalars() throws {
        let n = SignatureMath.order
        var nPlusOne = n
        nPlusOne[31] += 1
        var nMinusOne = n
        nMinusOne[31] -= 1
        for bad in [[UInt8](repeating: 0, count: 32), n, nPlusOne, [UInt8](repeating: 0xFF, count: 32)] {
            #expect(throws: KeyError(.privateKeyOutOfRange)) { try ElaPrivateKey(rawRepresentation: bad) }
        }
        let largest = try ElaPrivateKey(rawRepresentation: nMinusOne)
        #expect(largest.withRawBytes { $0 } == nMinusOne)
        let one = try ElaPrivateKey(rawRepresentation: [UInt8](repeating: 0, count: 31) + [1])
        // 1·G is the generator: x = 6b17d1f2..., y odd -> prefix 03.
        #expect(Hex.encode(one.publicKey.compressed)
            == "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
    }

    @Test func rejectsWrongLengths() {
        for length in [0, 31, 33, 64] {
            #expect(throws: KeyError(.wrongLength(what: "private key", expected: 32, actual: length))) {
                try ElaPrivateKey(rawRepresentation: [UInt8](repeating: 1, count: length))
            }
        }
    }

    @Test func generatedKeysDiffer() {
        let first = ElaPrivateKey.generate(), second = ElaPrivateKey.generate()
        #expect(first.publicKey != second.publicKey)
        #expect(first.withRawBytes { $0.count } == 32)
    }
}

struct SignatureTests {
    let key = ElaPrivateKey.generate()
    let message: [[UInt8]] = [Array("{\"id\":\"did:elastos:x\"}".utf8), Array("realm".utf8), Array("nonce".utf8)]

    @Test func signVerifyRoundTrip() throws {
        let signature = try key.signature(over: message)
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, over: message))
        // The digest is over the concatenation, so the split between parts does not matter.
        #expect(key.publicKey.isValidSignature(signature, over: [message.flatMap { $0 }]))
        #expect(key.publicKey.isValidSignature(signature, over: [[]] + message + [[]]))
        #expect(try ElaPrivateKey.generate().signature(over: [[]]).count == 64)
    }

    @Test func tamperedSignatureOrDataFails() throws {
        let signature = try key.signature(over: message)
        for index in [0, 31, 32, 63] {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!key.publicKey.isValidSignature(tampered, over: message))
        }
        var tamperedMessage = message
        tamperedMessage[2][0] ^= 0x20
        #expect(!key.publicKey.isValidSignature(signature, over: tamperedMessage))
        #expect(!key.publicKey.isValidSignature(signature, over: Array(message.dropLast())))
        #expect(!ElaPrivateKey.generate().publicKey.isValidSignature(signature, over: message))
    }

    @Test func wrongLengthsAndDegenerateSignaturesAreRejected() throws {
        let signature = try key.signature(over: message)
        for bad in [[], Array(signature.prefix(63)), signature + [0], signature + signature, [UInt8](repeating: 0, count: 64),
                    SignatureMath.order + SignatureMath.order, [UInt8](repeating: 0xFF, count: 64)] {
            #expect(!key.publicKey.isValidSignature(bad, over: message))
        }
    }

    /// The SDKs never normalize s, so both s and n - s must verify (reference §2).
    @Test func highSTwinVerifies() throws {
        var sawHighS = false
        for _ in 0..<8 {
            let signature = try key.signature(over: message)
            let twin = SignatureMath.flipS(signature)
            #expect(twin != signature)
            #expect(key.publicKey.isValidSignature(signature, over: message))
            #expect(key.publicKey.isValidSignature(twin, over: message))
            sawHighS = sawHighS || SignatureMath.isHighS(Array(signature[32...])) || SignatureMath.isHighS(Array(twin[32...]))
        }
        #expect(sawHighS)
    }
}

/// Real SDK signatures (high-S) over signing inputs cut from the normalized files: the proof is the last member,
/// so the signing input is the file up to `,"proof":` plus the closing brace.
struct SDKSignatureTests {
    @Test(arguments: [
        ("elastos-did/java-sdk/v2.2/testdata/user4.id.normalized.json", "signatureValue", "eorUr7Ek4XG1tjiqtioPDHMC2BDR7sKyVqaXc2Euiikd",
         "2785aa60bb66bde6b7f7df0612669e0dfc8e377862c0f61addeae6c5fd42fc64"),
        ("elastos-did/java-sdk/v2.2/testdata/user1.vc.passport.normalized.json", "signature", "vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg",
         "f3dfcff3104cea8df0f2069c53faa7a64316ad07ff13c46ee54ecec1115c62a5"),
    ])
    func verifiesHighSSDKSignature(file: String, field: String, keyBase58: String, signingInputSha256: String) throws {
        let text = try TestData.text(file)
        let proofStart = try #require(text.firstRange(of: ",\"proof\":"))
        let signingInput = Array((text[..<proofStart.lowerBound] + "}").utf8)
        #expect(Hex.encode(Digest.sha256(signingInput)) == signingInputSha256)
        let fieldStart = try #require(text[proofStart.upperBound...].firstRange(of: "\"\(field)\":\""))
        let fieldEnd = try #require(text[fieldStart.upperBound...].firstIndex(of: "\""))
        let signature = try Base64URL.decode(String(text[fieldStart.upperBound..<fieldEnd]))
        #expect(signature.count == 64)
        #expect(SignatureMath.isHighS(Array(signature[32...])), "reference: this SDK signature is high-S")
        let key = try ElaPublicKey(base58: keyBase58)
        #expect(key.isValidSignature(signature, over: [signingInput]))
        #expect(key.isValidSignature(SignatureMath.flipS(signature), over: [signingInput]))
        #expect(!key.isValidSignature(signature, over: [signingInput + [0x20]]))
    }
}

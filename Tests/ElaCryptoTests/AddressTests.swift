#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import ElaCrypto
import Testing

struct AddressTests {
    /// Reference §1 and the testdata README: public key (Base58) -> method-specific id.
    @Test(arguments: [
        ("vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg", "iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y"),  // user1 #primary
        ("hCkhLgnvLzx9gtYm9HH43WW8A4pDn9XAkTWjR2wpGFxF", "iioqVFbn59CUwq9sp8sxQqWnb4mXcr3gKk"),  // user1 #recovery
        ("vuP6gV9NJLLZC1hZWWYp8faxbCAGoPRJ1qacn1T22BKQ", "iVFQGSuTCN7cNXVM912893R8c4FibhptfZ"),  // user1 #key2
        ("238wLrC5sAn2qDhp78ZodB2ywfQ3g7zmaPRidgARStHGL", "imUUPBfrZ1yZx6nWXe6LNN59VeX2E6PPKj"),  // issuer
        ("kTYQhMtoimm9wV3vy4q9EVy4Z1WxRqxhvngztdGo1Dmc", "idwuEMccSpsTH4ZqrhuHqg6y8XMVQAsY5g"),  // user2
        ("28kW5kLm6qVuJpNJZXwJF1QgCPBNrVCgu4DxWLDACTxhK", "igXiyCJEUjGJV1DMsMa4EbWunQqVg97GcS"),  // user3
        ("eorUr7Ek4XG1tjiqtioPDHMC2BDR7sKyVqaXc2Euiikd", "igHbSCez6H3gTuVPzwNZRrdj92GCJ6hD5d"),  // user4
    ])
    func publicKeyToIdentifier(keyBase58: String, id: String) throws {
        let key = try ElaPublicKey(base58: keyBase58)
        #expect(ElaAddress.identifier(for: key) == id)
        #expect(ElaAddress.did(for: key) == "did:elastos:" + id)
        #expect(ElaAddress.isValidIdentifier(id))
    }

    /// The worked example of reference §1, step by step.
    @Test func workedExampleIntermediates() throws {
        let pk = try Hex.decode("0318be94e5e1a48e965aa3c60ee949e3c3284bcd14b6279921a9c361b50bf69401")
        let script = [0x21] + pk + [0xAD]
        #expect(Hex.encode(Digest.sha256(script)) == "90f9d47b43b4e0b54936699005016f37e885bad99f4c8cc2555bdf516b95106c")
        #expect(Hex.encode(RIPEMD160.hash(Digest.sha256(script))) == "34a210497396c3cfbc1e5f3de5ef48a723313a5f")
        #expect(Hex.encode(try Base58.decode("iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y"))
            == "6734a210497396c3cfbc1e5f3de5ef48a723313a5f3279a9c6")
        #expect(Hex.encode(Digest.sha256d(try Hex.decode("6734a210497396c3cfbc1e5f3de5ef48a723313a5f")).prefix(4)) == "3279a9c6")
    }

    @Test func rejectsInvalidIdentifiers() throws {
        #expect(!ElaAddress.isValidIdentifier(""))
        #expect(!ElaAddress.isValidIdentifier("iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58z"))  // checksum
        #expect(!ElaAddress.isValidIdentifier("iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58"))  // truncated
        #expect(!ElaAddress.isValidIdentifier("iXcRhYB38gMt1phi5JXJMjeXL2TL8cg5 y"))  // bad character
        #expect(!ElaAddress.isValidIdentifier("did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y"))
        #expect(!ElaAddress.isValidIdentifier("1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"))  // Bitcoin P2PKH: prefix 0x00
        // Right prefix and checksum but 22 bytes of payload.
        #expect(!ElaAddress.isValidIdentifier(Base58.encodeCheck([0x67] + [UInt8](repeating: 7, count: 21))))
        #expect(ElaAddress.isValidIdentifier(Base58.encodeCheck([0x67] + [UInt8](repeating: 7, count: 20))))
    }
}

/// expected.json entries of kind private-key-xprv: each `.sk` file -> private key, public key, Base58, DID.
struct SecretKeyFileTests {
    struct Expected: Decodable {
        struct Entry: Decodable {
            let file: String
            let kind: String
            let privateKeyHex: String?
            let publicKeyHex: String?
            let publicKeyBase58: String?
            let did: String?
        }
        let entries: [Entry]
    }

    @Test func everySKFileMatchesExpectedJSON() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(try TestData.bytes("elastos-did/expected.json")))
        let keyFiles = expected.entries.filter { $0.kind == "private-key-xprv" }
        #expect(keyFiles.count == 3)
        for entry in keyFiles {
            let text = try TestData.text("elastos-did/" + entry.file)
            #expect(!text.hasSuffix("\n"))
            let hdKey = try HDKey(xprv: text)
            #expect(hdKey.xprv == text, "re-serializes byte for byte")
            #expect(hdKey.privateKey.withRawBytes { Hex.encode($0) } == entry.privateKeyHex)
            #expect(Hex.encode(hdKey.publicKey.compressed) == entry.publicKeyHex)
            #expect(hdKey.publicKey.base58 == entry.publicKeyBase58)
            #expect(ElaAddress.did(for: hdKey.publicKey) == entry.did)
            #expect(hdKey.depth == 5)
        }
    }
}

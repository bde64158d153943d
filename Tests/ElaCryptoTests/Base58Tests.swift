import ElaCrypto
import Testing

/// Bitcoin Core src/test/data/base58_encode_decode.json (all cases).
private let bitcoinCoreVectors: [(hex: String, base58: String)] = [
    ("", ""),
    ("61", "2g"),
    ("626262", "a3gV"),
    ("636363", "aPEr"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"),
    ("bf4f89001e670274dd", "3SEo3LWLoPntC"),
    ("572e4794", "3EFU7m"),
    ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
    ("10c8511e", "Rt5zm"),
    ("00000000000000000000", "1111111111"),
    ("00000000000000000000000000000000000000000000000000000000000000000000000000000000", "1111111111111111111111111111111111111111"),
    ("00000000000000000000000000000000000000000000000000000000000000000000000000000001", "1111111111111111111111111111111111111112"),
    (
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            + "000000000000000000000000000000000000000000000000000000000000ec39d04c37e71e5d591881f6",
        "111111111111111111111111111111111111111111111111111111111111111111111111111111111111115TYzLYH1udmLdzCLM"
    ),
    ("000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
     "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"),
    (
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738"
            + "393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f"
            + "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6"
            + "a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdd"
            + "dedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "1cWB5HCBdLjAuqGGReWE3R3CguuwSjw6RHn39s2yuDRTS5NsBgNiFpWgAnEx6VQi8csexkgYw3mdYrMHr8x9i7aEwP8kZ7vccXWqKDvGv3u1Gx"
            + "FKPuAkn8JCPPGDMf3vMMnbzm6Nh9zh1gcNsMvH3ZNLmP5fSG6DGbbi2tuwMWPthr4boWwCxf7ewSgNQeacyozhKDDQQ1qL5fQFUW52QKUZDZ5fw3K"
            + "XNQJMcNTcaB723LchjeKun7MuGW5qyCBZYzA1KjofN1gYBV3NqyhQJ3Ns746GNuf9N2pQPmHz4xpnSrrfCvy6TVVz5d4PdrjeshsWQwpZsZGzvbd"
            + "AdN8MKV5QsBDY"
    ),
    ("271F359E", "zzzzy"),
    ("271F359F", "zzzzz"),
    ("271F35A0", "211111"),
    ("271F35A1", "211112"),
]

struct Base58Tests {
    @Test func bitcoinCoreVectorsEncode() throws {
        for vector in bitcoinCoreVectors {
            #expect(Base58.encode(try Hex.decode(vector.hex)) == vector.base58, "\(vector.hex)")
        }
    }

    @Test func bitcoinCoreVectorsDecode() throws {
        for vector in bitcoinCoreVectors {
            #expect(try Base58.decode(vector.base58) == Hex.decode(vector.hex), "\(vector.base58)")
        }
    }

    @Test(arguments: [("0", 0), ("O", 0), ("I", 0), ("l", 0), ("3mJr0", 4), ("3SEo3LWLoPntC ", 13), (" 2g", 0), ("2 g", 1),
                      ("a3g\u{00e9}", 3), ("\t", 0), ("2g\n", 2), ("+", 0)])
    func rejectsCharactersOutsideTheAlphabet(text: String, offset: Int) {
        #expect {
            _ = try Base58.decode(text)
        } throws: { error in
            guard let error = error as? Base58Error, case .invalidCharacter(_, let at) = error.kind else { return false }
            return at == offset && error.description.contains("offset \(offset)")
        }
    }

    @Test func textLongerThanAnyKeyIsRefusedBeforeDecoding() throws {
        let longest = String(repeating: "z", count: Base58.maxTextLength)
        #expect(try Base58.decode(longest).count > 700)
        #expect(throws: Base58Error(.tooLong(length: 100_000, limit: 1024))) { try Base58.decode(String(repeating: "2", count: 100_000)) }
        #expect(throws: Base58Error(.tooLong(length: 65, limit: 64))) { try Base58.decode(String(repeating: "2", count: 65), maxLength: 64) }
        #expect(Base58Error(.tooLong(length: 257, limit: 256)).description.contains("at most 256"))
        // A signed request's publicKey is decoded from a caller's text: the same limit applies there.
        #expect(throws: KeyError.self) { try ElaPublicKey(base58: String(repeating: "2", count: 10_000)) }
    }

    @Test func checkRoundTripAndChecksum() throws {
        let payload: [UInt8] = [0x67] + (1...20).map { UInt8($0) }
        let text = Base58.encodeCheck(payload)
        #expect(try Base58.decodeCheck(text) == payload)
        // Change the last character: the checksum no longer matches.
        var corrupted = Array(text)
        corrupted[corrupted.count - 1] = corrupted.last == "2" ? "3" : "2"
        #expect(throws: Base58Error(.badChecksum)) { try Base58.decodeCheck(String(corrupted)) }
        #expect(throws: Base58Error(.tooShort(byteCount: 0))) { try Base58.decodeCheck("") }
        #expect(throws: Base58Error(.tooShort(byteCount: 3))) { try Base58.decodeCheck(Base58.encode([1, 2, 3])) }
        #expect(try Base58.decodeCheck(Base58.encodeCheck([])) == [])
    }

    /// The checksum is sha256d as in Bitcoin addresses: the genesis block coinbase address (P2PKH, version 0x00).
    @Test func decodeCheckOnABitcoinAddress() throws {
        #expect(try Hex.encode(Base58.decodeCheck("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")) == "0062e907b15cbf27d5425399ebf6f0fb50ebb88f18")
    }
}

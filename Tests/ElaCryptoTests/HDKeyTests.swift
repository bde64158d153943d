import ElaCrypto
import Testing

struct HDKeyDIDTests {
    /// Java SDK HDKeyTest (passphrase ""), index 0.
    @Test func javaSDKHDKeyTestVectors() throws {
        let cloth = try Mnemonic(phrase: "cloth always junk crash fun exist stumble shift over benefit fun toe")
        let clothKey = try HDKey.identityKey(mnemonic: cloth, passphrase: "", index: 0)
        #expect(clothKey.publicKey.base58 == "voHKsUjoPSJSQKWLJHWYzUfEv3NEaRUyJReoZVS6XCYM")
        #expect(ElaAddress.identifier(for: clothKey.publicKey) == "iY4Ghz9tCuWvB5rNwvn4ngWvthZMNzEA7U")

        let service = try Mnemonic(phrase: "service illegal blossom voice three eagle grace agent service average knock round")
        let serviceKey = try HDKey.identityKey(mnemonic: service, passphrase: "", index: 0)
        #expect(ElaAddress.identifier(for: serviceKey.publicKey) == "iW3HU8fTmwkENeVT9UCEvvg3ddUD5oCxYA")
    }

    /// Java SDK HDKeyTest: master xprv of "pact reject ..." with passphrase "helloworld".
    @Test func javaSDKMasterXprv() throws {
        let pact = try Mnemonic(phrase: "pact reject sick voyage foster fence warm luggage cabbage any subject carbon")
        let master = try HDKey.master(seed: try pact.seed(passphrase: "helloworld"))
        let expected = "xprv9s21ZrQH143K4biiQbUq8369meTb1R8KnstYFAKtfwk3vF8uvFd1EC2s49bMQsbdbmdJxUWRkuC48CXPutFfynYFVGnoeq8LJZhfd9QjvUt"
        #expect(master.xprv == expected)
        let parsed = try HDKey(xprv: expected)
        #expect(parsed.xprv == expected)
        #expect(parsed.depth == 0 && parsed.childNumber == 0 && parsed.parentFingerprint == [0, 0, 0, 0])
        #expect(parsed.publicKey == master.publicKey)
    }

    /// Native SDK tests/resources/testdata: mnemonic.restore + passphrase "secret" -> dids.restore, in order.
    @Test func nativeSDKRestoreVectors() throws {
        let mnemonic = try Mnemonic(phrase: try TestData.text("elastos-did/native-sdk/testdata/mnemonic.restore"))
        let dids = try TestData.text("elastos-did/native-sdk/testdata/dids.restore").split(separator: "\n").map(String.init)
        #expect(dids.count == 2)
        for (index, did) in dids.enumerated() {
            let key = try HDKey.identityKey(mnemonic: mnemonic, passphrase: "secret", index: UInt32(index))
            #expect(ElaAddress.did(for: key.publicKey) == did, "index \(index)")
        }
    }

    /// BIP32 test vector 1 master key (seed 000102...0f): the master is curve-independent.
    @Test func bip32TestVector1Master() throws {
        let master = try HDKey.master(seed: try Hex.decode("000102030405060708090a0b0c0d0e0f"))
        #expect(master.xprv
            == "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi")
    }
}

struct HDKeyDerivationTests {
    let master: HDKey

    init() throws {
        let mnemonic = try Mnemonic(phrase: "cloth always junk crash fun exist stumble shift over benefit fun toe")
        master = try HDKey.master(seed: try mnemonic.seed())
    }

    @Test func pathSpellingsAgree() throws {
        let reference = try master.derive(path: "m/44'/0'/0'/0/3")
        for spelling in ["44H/0H/0H/0/3", "m/44h/0h/0h/0/3", "44'/0'/0'/0/3", "M/44H/0'/0h/0/3"] {
            #expect(try master.derive(path: spelling).xprv == reference.xprv, "\(spelling)")
        }
        let stepwise = try master.deriveChild(44, hardened: true).deriveChild(0, hardened: true).deriveChild(0, hardened: true)
            .deriveChild(0, hardened: false).deriveChild(3, hardened: false)
        #expect(stepwise.xprv == reference.xprv)
        let mnemonic = try Mnemonic(phrase: "cloth always junk crash fun exist stumble shift over benefit fun toe")
        #expect(try HDKey.identityKey(mnemonic: mnemonic, passphrase: "", index: 3).xprv == reference.xprv)
        // Independently computed (Python hashlib + cryptography) for this path.
        #expect(reference.xprv
            == "xprvA3hqKDnMQGYc55ETozFHE6KRQtPTK4zTHztWzgDpAWPM1VagSar6ARftnB82gzvhJ28yK2fxmdA5PqS2BT2B4CB4MT2yB2BkZhkVBxpcykz")
        // Relative paths compose.
        #expect(try master.derive(path: "m/44'/0'/0'").derive(path: "0/3").xprv == reference.xprv)
        #expect(try master.derive(path: "m").xprv == master.xprv)
        #expect(try master.derive(path: "").xprv == master.xprv)
    }

    @Test func childMetadata() throws {
        let account = try master.derive(path: "m/44'/0'/0'")
        let hardened = try account.deriveChild(7, hardened: true)
        let normal = try account.deriveChild(7, hardened: false)
        #expect(hardened.depth == 4 && normal.depth == 4)
        #expect(hardened.childNumber == 0x8000_0007 && normal.childNumber == 7)
        #expect(hardened.parentFingerprint == account.fingerprint && normal.parentFingerprint == account.fingerprint)
        #expect(account.fingerprint == Array(Digest.hash160(account.publicKey.compressed).prefix(4)))
        #expect(hardened.publicKey != normal.publicKey)
        #expect(hardened.chainCode.count == 32)
        // A parsed xprv derives the same children as the key it came from.
        #expect(try HDKey(xprv: account.xprv).deriveChild(7, hardened: false).xprv == normal.xprv)
    }

    @Test func rejectsBadPaths() {
        for path in ["m/44'/x", "m//1", "m/2147483648", "m/-1", "m/1''", " m/1", "m/1/", "/1", "m/1 ", "m/١"] {
            #expect(throws: HDKeyError.self, "\(path)") { try master.derive(path: path) }
        }
        #expect(throws: HDKeyError(.indexOutOfRange(0x8000_0000))) { try master.deriveChild(0x8000_0000, hardened: false) }
        #expect(throws: HDKeyError(.indexOutOfRange(0x8000_0000))) { try master.deriveChild(0x8000_0000, hardened: true) }
    }

    @Test func rejectsBadSeeds() {
        for length in [0, 15, 65] {
            #expect(throws: HDKeyError(.seedLength(length))) { try HDKey.master(seed: [UInt8](repeating: 1, count: length)) }
        }
    }
}

struct XprvParsingTests {
    let valid = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"

    /// Rebuilds a Base58Check string from the valid xprv with one change to its 78-byte payload.
    func modified(_ change: (inout [UInt8]) -> Void) throws -> String {
        var payload = try Base58.decodeCheck(valid)
        change(&payload)
        return Base58.encodeCheck(payload)
    }

    @Test func rejectsCorruptedText() {
        #expect(throws: HDKeyError(.base58(Base58Error(.badChecksum)))) { try HDKey(xprv: String(valid.dropLast()) + "j") }
        #expect(throws: HDKeyError.self) { try HDKey(xprv: valid + " ") }
        #expect(throws: HDKeyError.self) { try HDKey(xprv: "") }
    }

    @Test func rejectsWrongLayouts() throws {
        #expect(throws: HDKeyError(.wrongLength(81))) { try HDKey(xprv: try modified { $0.removeLast() }) }
        #expect(throws: HDKeyError(.wrongLength(83))) { try HDKey(xprv: try modified { $0.append(0) }) }
        // BIP32 test vector 1 master xpub: public version bytes.
        #expect(throws: HDKeyError(.unsupportedVersion("0488b21e"))) {
            try HDKey(xprv: "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8")
        }
        #expect(throws: HDKeyError(.notPrivate)) { try HDKey(xprv: try modified { $0[45] = 0x02 }) }
        #expect(throws: HDKeyError(.inconsistentMasterKey)) { try HDKey(xprv: try modified { $0[9...12] = [0, 0, 0, 1] }) }
        #expect(throws: HDKeyError(.key(KeyError(.privateKeyOutOfRange)))) {
            try HDKey(xprv: try modified { $0.replaceSubrange(46..<78, with: [UInt8](repeating: 0, count: 32)) })
        }
        #expect(throws: HDKeyError(.key(KeyError(.privateKeyOutOfRange)))) {
            try HDKey(xprv: try modified { $0.replaceSubrange(46..<78, with: SignatureMath.order) })
        }
    }

    @Test func errorsExplainThemselves() {
        #expect(HDKeyError(.unsupportedVersion("0488b21e")).description.contains("0488ade4"))
        #expect(HDKeyError(.badPath("m/x", component: "x")).description.contains("m/44'/0'/0'/0/3"))
    }
}

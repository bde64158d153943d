import ElaSodium
import ElaTestSupport
import Testing

@Suite("SecretBytes", .ownThread)
struct SecretBytesTests {
    @Test func equalContentsAreEqual() {
        #expect(SecretBytes([1, 2, 3, 4]) == SecretBytes([1, 2, 3, 4]))
        #expect(SecretBytes([]) == SecretBytes([]))
    }

    @Test func anyDifferenceMakesThemUnequal() {
        let base: [UInt8] = [1, 2, 3, 4]
        for index in base.indices {
            var changed = base
            changed[index] ^= 0x01
            #expect(SecretBytes(base) != SecretBytes(changed))
        }
        #expect(SecretBytes([1, 2, 3]) != SecretBytes([1, 2, 3, 0]))
        #expect(SecretBytes([]) != SecretBytes([0]))
    }

    @Test func zeroingInitWipesTheCallersArray() {
        var source: [UInt8] = [9, 8, 7, 6]
        let secret = SecretBytes(zeroing: &source)
        #expect(source.isEmpty)
        #expect(bytes(of: secret) == [9, 8, 7, 6])
    }

    @Test func copiesAreIndependent() {
        let original = SecretBytes([1, 1, 1])
        var copy = original
        copy.withUnsafeMutableBytes { $0[0] = 42 }
        #expect(bytes(of: original) == [1, 1, 1])
        #expect(bytes(of: copy) == [42, 1, 1])
    }

    @Test func contentsNeverAppearInDescriptions() {
        let secret = SecretBytes(Array("hunter2-hunter2".utf8))
        var dumped = ""
        dump(secret, to: &dumped)
        for text in ["\(secret)", String(reflecting: secret), dumped] {
            #expect(!text.contains("104"))  // 'h'
            #expect(!text.contains("hunter"))
            #expect(text.contains("15"))
        }
        #expect(secret.description == "SecretBytes(15 bytes, redacted)")
    }

    @Test func initializingInPlace() {
        let secret = SecretBytes(count: 5) { buffer in
            for index in buffer.indices { buffer[index] = UInt8(index) }
        }
        #expect(bytes(of: secret) == [0, 1, 2, 3, 4])
        #expect(SecretBytes(utf8: "ab") == SecretBytes([0x61, 0x62]))
    }

    @Test func randomSecretsHaveTheRightSizeAndDiffer() {
        let first = Sodium.randomSecret(32)
        let second = Sodium.randomSecret(32)
        #expect(first.count == 32)
        #expect(first != second)
        #expect(Sodium.randomBytes(24).count == 24)
        #expect(Sodium.randomBytes(16) != Sodium.randomBytes(16))
        #expect(Sodium.randomBytes(0).isEmpty)
    }
}

import ElaSodium
import ElaTestSupport
import Testing

@Suite("GenericHash", .ownThread)
struct GenericHashTests {
    @Test func keyedHashDependsOnKeyAndMessage() throws {
        let key = SecretBytes([UInt8](repeating: 7, count: 32))
        let first = try GenericHash.keyed(Array("context".utf8), key: key)
        #expect(first.count == 32)
        #expect(try GenericHash.keyed(Array("context".utf8), key: key) == first)
        #expect(try GenericHash.keyed(Array("context2".utf8), key: key) != first)
        #expect(try GenericHash.keyed(Array("context".utf8), key: SecretBytes([UInt8](repeating: 8, count: 32))) != first)
    }

    /// BLAKE2b-512 keyed test vector from the reference implementation (blake2b-kat.txt, empty input,
    /// key 00 01 .. 3f).
    @Test func referenceKeyedVector() throws {
        let key = SecretBytes((0..<64).map { UInt8($0) })
        let digest = try GenericHash.keyed([], key: key, length: 64)
        #expect(
            bytes(of: digest)
                == hex(
                    "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"
                ))
    }

    @Test func badLengthsAreTypedErrors() {
        #expect(throws: SodiumError.keyLengthOutOfRange(3, minimum: 16, maximum: 64)) {
            try GenericHash.keyed([], key: SecretBytes([1, 2, 3]))
        }
        #expect(throws: SodiumError.self) {
            try GenericHash.keyed([], key: SecretBytes([UInt8](repeating: 0, count: 32)), length: 65)
        }
    }
}

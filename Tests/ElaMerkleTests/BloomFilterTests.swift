import ElaJSON
import ElaMerkle
import ElaWire
import ElaTestSupport
import Testing

/// BIP37 filters and MurmurHash3 against btcd/Core vectors (bip37-vectors.json).
@Suite(.ownThread) struct BloomFilterTests {
    @Test func murmurHash3Vectors() throws {
        let vectors = try #require(try Vectors.json("spv/bip37-vectors.json")["murmur3_x86_32"]).array("vectors")
        #expect(vectors.count == 14)
        for vector in vectors {
            let seed = try #require(UInt32(try vector.string("seed").dropFirst(2), radix: 16))
            let expected = try #require(UInt32(try vector.string("expected").dropFirst(2), radix: 16))
            let data = try Hex.decode(try vector.string("data_hex"))
            #expect(MurmurHash3.hash32(data, seed: seed) == expected, "seed \(seed) data \(Hex.encode(data))")
        }
    }

    @Test func filterloadVectors() throws {
        let vectors = try #require(try Vectors.json("spv/bip37-vectors.json")["bloom_filterload"]).array("vectors")
        #expect(vectors.count == 2)
        for vector in vectors {
            var filter = BloomFilter(
                elements: try vector.int("nElements"), falsePositiveRate: try vector.double("fpRate"),
                tweak: UInt32(try vector.int("tweak")), flags: UInt8(try vector.int("flags")))
            for element in try vector.strings("insert") { filter.insert(try Hex.decode(element)) }
            let expected = try vector.string("expected_filterload_payload_hex")
            #expect(Hex.encode(filter.filterloadPayload()) == expected)
            for element in try vector.strings("must_match") { #expect(filter.contains(try Hex.decode(element))) }
            for element in try vector.strings("must_not_match") { #expect(!filter.contains(try Hex.decode(element))) }

            let decoded = try BloomFilter(filterloadPayload: try Hex.decode(expected))
            #expect(decoded == filter)
            // ELA appends a varuint count of transaction types: none here.
            #expect(Hex.encode(filter.elaFilterloadPayload(txTypes: [])) == expected + "00")
            #expect(try BloomFilter(elaFilterloadPayload: try Hex.decode(expected + "00")) == filter)
        }
    }

    /// Sizes follow Core's formula (Core's bloom_create_insert_key filter is (2, 0.001): 3 bytes, 8 functions).
    @Test func sizingFollowsCore() {
        let key = BloomFilter(elements: 2, falsePositiveRate: 0.001, tweak: 0, flags: BloomFilter.updateAll)
        #expect(key.data.count == 3)
        #expect(key.hashFunctions == 8)
        let merkleBlock3 = BloomFilter(elements: 10, falsePositiveRate: 0.000001, tweak: 0, flags: 1)
        #expect(merkleBlock3.data.count == 35)
        #expect(merkleBlock3.hashFunctions == 19)
        // (10, 0.01): 11 bytes; Core divides 88 / 10 as integers (8 · ln 2 → 5), btcd in floating point (→ 6).
        let integerDivision = BloomFilter(elements: 10, falsePositiveRate: 0.01, tweak: 0, flags: 0)
        #expect(integerDivision.data.count == 11)
        #expect(integerDivision.hashFunctions == 5)
        let huge = BloomFilter(elements: 100_000, falsePositiveRate: 1e-9, tweak: 0, flags: 0)
        #expect(huge.data.count == BloomFilter.maxFilterBytes)
        #expect(huge.hashFunctions == 1)
        let tiny = BloomFilter(elements: 1, falsePositiveRate: 1e-30, tweak: 0, flags: 0)
        #expect(tiny.hashFunctions <= BloomFilter.maxHashFunctions)
        #expect(tiny.isWithinSizeConstraints)
        // Degenerate inputs neither trap nor produce an unusable filter.
        var matchAll = BloomFilter(elements: 0, falsePositiveRate: 1.0, tweak: 0, flags: 0)
        #expect(matchAll.data.isEmpty)
        matchAll.insert([1, 2, 3])
        #expect(matchAll.contains([9]))
        #expect(BloomFilter(elements: 3, falsePositiveRate: .nan, tweak: 0, flags: 0).data.isEmpty)
    }

    @Test func elaTxTypesRoundTrip() throws {
        var filter = BloomFilter(elements: 5, falsePositiveRate: 1e-9, tweak: BloomFilter.elaSideChainTweak, flags: 0)
        filter.insert(Array(repeating: 0x21, count: 21))
        filter.txTypes = [0x09, 0x0A, 0x62]
        let payload = filter.elaFilterloadPayload()
        #expect(Array(payload.suffix(4)) == [0x03, 0x09, 0x0A, 0x62])
        #expect(payload == filter.elaFilterloadPayload(txTypes: [0x09, 0x0A, 0x62]))
        let decoded = try BloomFilter(elaFilterloadPayload: payload)
        #expect(decoded == filter)
        #expect(decoded.contains(Array(repeating: 0x21, count: 21)))
        // Older peers stop after nFlags: no transaction types.
        let legacy = try BloomFilter(elaFilterloadPayload: filter.filterloadPayload())
        #expect(legacy.txTypes.isEmpty)
        #expect(legacy.data == filter.data)
        // The Bitcoin payload carries no types and does not accept ELA's tail.
        #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: payload) }
    }

    @Test func malformedFilterloadsAreRejected() throws {
        var writer = WireWriter()
        writer.writeVarBytes([UInt8](repeating: 0, count: BloomFilter.maxFilterBytes + 1))
        writer.writeUInt32(1)
        writer.writeUInt32(0)
        writer.writeUInt8(0)
        #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: writer.bytes) }

        let tooManyFunctions = BloomFilter(data: [0xFF], hashFunctions: 51, tweak: 0, flags: 0)
        #expect(!tooManyFunctions.isWithinSizeConstraints)
        #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: tooManyFunctions.filterloadPayload()) }

        let emptyWithFunctions = BloomFilter(data: [], hashFunctions: 3, tweak: 0, flags: 0)
        #expect(throws: WireError.self) {
            try BloomFilter(elaFilterloadPayload: emptyWithFunctions.elaFilterloadPayload())
        }
        #expect(emptyWithFunctions.contains([1]))  // and it cannot divide by zero if built by hand

        let valid = try Hex.decode("03614e9b050000000000000001")
        #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: valid + [0]) }
        for length in 0..<valid.count {
            #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: Array(valid.prefix(length))) }
        }
        // ELA: declared types that are not there, and a huge declared count.
        #expect(throws: WireError.self) { try BloomFilter(elaFilterloadPayload: valid + [0x02, 0x09]) }
        #expect(throws: WireError.self) {
            try BloomFilter(elaFilterloadPayload: valid + [0xFE, 0xFF, 0xFF, 0xFF, 0x01])
        }
        #expect(throws: WireError.self) { try BloomFilter(filterloadPayload: [0xFE, 0xFF, 0xFF, 0xFF, 0x7F]) }
    }
}

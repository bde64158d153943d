import ElaWire
import ElaTestSupport
import Testing

@Suite(.ownThread) struct WireTests {
    @Test func integersRoundTrip() throws {
        var w = WireWriter()
        w.writeUInt8(0xAB)
        w.writeUInt16(0x1234)
        w.writeUInt32(0xDEAD_BEEF)
        w.writeUInt64(0x0102_0304_0506_0708)
        w.writeInt32(-2)
        #expect(Array(w.bytes[1...2]) == [0x34, 0x12])
        var r = WireReader(w.bytes)
        #expect(try r.readUInt8() == 0xAB)
        #expect(try r.readUInt16() == 0x1234)
        #expect(try r.readUInt32() == 0xDEAD_BEEF)
        #expect(try r.readUInt64() == 0x0102_0304_0506_0708)
        #expect(try r.readInt32() == -2)
        #expect(r.isAtEnd)
        #expect(throws: WireError.self) { try r.readUInt8("x") }
    }

    @Test(arguments: [(UInt64(0), 1), (0xFC, 1), (0xFD, 3), (0xFFFF, 3), (0x1_0000, 5), (0xFFFF_FFFF, 5), (0x1_0000_0000, 9)])
    func varIntsAreCanonical(_ value: UInt64, _ size: Int) throws {
        var w = WireWriter()
        w.writeVarInt(value)
        #expect(w.bytes.count == size)
        var r = WireReader(w.bytes)
        #expect(try r.readVarInt() == value)
    }

    @Test func rejectsNonCanonicalAndOversizeInput() {
        var r = WireReader([0xFD, 0x10, 0x00])  // 16 encoded in 3 bytes
        #expect(throws: WireError.self) { try r.readVarInt("n") }
        var big = WireReader([0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2])  // claims 268 M bytes
        #expect(throws: WireError.self) { try big.readVarBytes("data", limit: 1 << 30) }
        var limited = WireReader([0x05, 1, 2, 3, 4, 5])
        #expect(throws: WireError.self) { try limited.readVarBytes("data", limit: 4) }
    }

    @Test func hashesKeepRawOrderAndShowReversed() throws {
        let genesis = try #require(Hash256(displayHex: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"))
        #expect(genesis.rawBytes.first == 0x6F)
        #expect(genesis.rawHex == "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000")
        #expect(genesis.description == genesis.displayHex)
        #expect(Hash256(displayHex: "zz") == nil)
        #expect(Hash256.zero < genesis)
    }
}

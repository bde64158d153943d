public import ElaWire

extension PartialMerkleTree {
    /// Core's MAX_SIZE, the bound on any serialized vector length.
    static let bitcoinMaxVectorSize: UInt64 = 0x0200_0000

    /// Bitcoin layout (the tail of `merkleblock` and `gettxoutproof`): totalTx u32, CompactSize n, n hashes,
    /// CompactSize m, m flag bytes. Counts that cannot fit in the remaining bytes are rejected before allocating.
    public init(bitcoinReader reader: inout WireReader) throws(WireError) {
        let total = try reader.readUInt32("merkleblock.totalTransactions")
        let count = try reader.readCount("merkleblock.hashes", limit: Self.bitcoinMaxVectorSize, elementSize: 32)
        let hashes = try Self.readHashes(count, from: &reader)
        let flags = try reader.readVarBytes("merkleblock.flags", limit: Self.bitcoinMaxVectorSize)
        self.init(totalTransactions: total, hashes: hashes, flags: flags)
    }

    /// Writes the Bitcoin layout read by `init(bitcoinReader:)`.
    public func writeBitcoin(to writer: inout WireWriter) {
        writer.writeUInt32(totalTransactions)
        writer.writeVarInt(UInt64(hashes.count))
        for hash in hashes { writer.writeHash(hash) }
        writer.writeVarBytes(flags)
    }

    /// ELA `merkleblock` layout after the header (`ELA:p2p/msg/merkleblock.go`): totalTx u32, **u32** numHashes,
    /// hashes, varbytes flags. numHashes is capped at `defaultMaxTransactions`.
    public init(elaReader reader: inout WireReader) throws(WireError) {
        let total = try reader.readUInt32("merkleblock.totalTransactions")
        let count = try reader.readCount(
            "merkleblock.hashes", limit: UInt64(Self.defaultMaxTransactions), elementSize: 32, varInt: false)
        let hashes = try Self.readHashes(count, from: &reader)
        let flags = try reader.readVarBytes("merkleblock.flags", limit: Self.bitcoinMaxVectorSize)
        self.init(totalTransactions: total, hashes: hashes, flags: flags)
    }

    /// Writes the ELA layout read by `init(elaReader:)`.
    public func writeELA(to writer: inout WireWriter) {
        writer.writeUInt32(totalTransactions)
        writer.writeUInt32(UInt32(clamping: hashes.count))
        for hash in hashes { writer.writeHash(hash) }
        writer.writeVarBytes(flags)
    }

    private static func readHashes(_ count: Int, from reader: inout WireReader) throws(WireError) -> [Hash256] {
        var hashes: [Hash256] = []
        hashes.reserveCapacity(count)
        for _ in 0..<count { hashes.append(try reader.readHash("merkleblock.hashes")) }
        return hashes
    }
}

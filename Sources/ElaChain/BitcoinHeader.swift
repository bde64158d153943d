public import ElaWire

/// An 80-byte Bitcoin block header (also the parent header inside an ELA AuxPoW).
public struct BitcoinHeader: Sendable, Hashable {
    /// Serialized size in bytes.
    public static let size = 80

    public var version: Int32
    public var previousHash: Hash256
    public var merkleRoot: Hash256
    public var timestamp: UInt32
    public var bits: UInt32
    public var nonce: UInt32

    public init(
        version: Int32, previousHash: Hash256, merkleRoot: Hash256, timestamp: UInt32, bits: UInt32, nonce: UInt32
    ) {
        self.version = version
        self.previousHash = previousHash
        self.merkleRoot = merkleRoot
        self.timestamp = timestamp
        self.bits = bits
        self.nonce = nonce
    }

    /// Reads 80 bytes.
    public init(reader: inout WireReader) throws(WireError) {
        version = try reader.readInt32("header.version")
        previousHash = try reader.readHash("header.previousHash")
        merkleRoot = try reader.readHash("header.merkleRoot")
        timestamp = try reader.readUInt32("header.timestamp")
        bits = try reader.readUInt32("header.bits")
        nonce = try reader.readUInt32("header.nonce")
    }

    /// Decodes exactly 80 bytes.
    public init(bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(bytes)
        try self.init(reader: &reader)
        try reader.expectEnd("header")
    }

    /// Writes the 80 bytes.
    public func write(to writer: inout WireWriter) {
        writer.writeInt32(version)
        writer.writeHash(previousHash)
        writer.writeHash(merkleRoot)
        writer.writeUInt32(timestamp)
        writer.writeUInt32(bits)
        writer.writeUInt32(nonce)
    }

    /// The 80 serialized bytes.
    public var serialized: [UInt8] {
        var writer = WireWriter(capacity: BitcoinHeader.size)
        write(to: &writer)
        return writer.bytes
    }

    /// SHA256d of the 80 bytes (computed on each access).
    public var hash: Hash256 { Hash256(hashValue256) }

    /// The hash as a little-endian number, for comparison with a target (hashed from a stack buffer).
    public var hashValue256: UInt256 {
        withUnsafeTemporaryAllocation(byteCount: BitcoinHeader.size, alignment: 8) { buffer in
            buffer.storeBytes(of: UInt32(bitPattern: version).littleEndian, toByteOffset: 0, as: UInt32.self)
            previousHash.rawBytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[4..<36]).copyMemory(from: $0)
            }
            merkleRoot.rawBytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[36..<68]).copyMemory(from: $0)
            }
            buffer.storeBytes(of: timestamp.littleEndian, toByteOffset: 68, as: UInt32.self)
            buffer.storeBytes(of: bits.littleEndian, toByteOffset: 72, as: UInt32.self)
            buffer.storeBytes(of: nonce.littleEndian, toByteOffset: 76, as: UInt32.self)
            return SHA256d.value(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The Bitcoin mainnet genesis header (`000000000019d6…e26f`).
    public static let bitcoinMainnetGenesis = BitcoinHeader(
        version: 1, previousHash: .zero,
        merkleRoot: Hash256(displayHex: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b") ?? .zero,
        timestamp: 1_231_006_505, bits: 0x1D00_FFFF, nonce: 2_083_236_893)
}

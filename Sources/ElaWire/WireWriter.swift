/// Little-endian writer (Bitcoin/ELA serialization).
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 128) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }
    public mutating func writeUInt8(_ v: UInt8) { bytes.append(v) }

    private mutating func writeLE<T: FixedWidthInteger>(_ v: T) {
        for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }

    public mutating func writeUInt16(_ v: UInt16) { writeLE(v) }
    public mutating func writeUInt32(_ v: UInt32) { writeLE(v) }
    public mutating func writeUInt64(_ v: UInt64) { writeLE(v) }
    public mutating func writeInt32(_ v: Int32) { writeLE(UInt32(bitPattern: v)) }
    public mutating func writeInt64(_ v: Int64) { writeLE(UInt64(bitPattern: v)) }
    public mutating func writeHash(_ h: Hash256) { bytes.append(contentsOf: h.rawBytes) }

    /// Bitcoin CompactSize, canonical.
    public mutating func writeVarInt(_ v: UInt64) {
        switch v {
        case 0..<0xFD: writeUInt8(UInt8(v))
        case 0xFD...0xFFFF:
            writeUInt8(0xFD)
            writeUInt16(UInt16(v))
        case 0x1_0000...0xFFFF_FFFF:
            writeUInt8(0xFE)
            writeUInt32(UInt32(v))
        default:
            writeUInt8(0xFF)
            writeUInt64(v)
        }
    }

    public mutating func writeVarBytes(_ b: [UInt8]) {
        writeVarInt(UInt64(b.count))
        write(b)
    }

    public mutating func writeVarString(_ s: String) { writeVarBytes(Array(s.utf8)) }
}

/// Why bytes from the wire (or a file) could not be decoded. Every decoder built on `WireReader` throws this
/// instead of trapping on short or malformed input.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Fewer bytes than the field needs.
        case truncated(needed: Int, available: Int)
        /// A length or count beyond what the format allows.
        case tooLarge(what: String, value: UInt64, limit: UInt64)
        /// A value the format forbids (bad magic, non-canonical varint, unknown enum, ...).
        case invalid(String)
        /// Bytes left over after a message that must be consumed exactly.
        case trailingBytes(Int)
    }

    public var kind: Kind
    /// Byte offset where decoding stopped.
    public var offset: Int
    /// What was being decoded, e.g. "merkleblock.flags".
    public var field: String

    public init(_ kind: Kind, offset: Int, field: String) {
        self.kind = kind
        self.offset = offset
        self.field = field
    }

    public var description: String {
        let what: String
        switch kind {
        case .truncated(let needed, let available): what = "truncated: needs \(needed) bytes, \(available) left"
        case .tooLarge(let name, let value, let limit): what = "\(name) \(value) exceeds the limit \(limit)"
        case .invalid(let message): what = message
        case .trailingBytes(let n): what = "\(n) unexpected trailing bytes"
        }
        return "\(field.isEmpty ? "" : field + ": ")\(what) (at byte \(offset))"
    }
}

/// Little-endian reader over a byte buffer (Bitcoin/ELA serialization). Never reads out of bounds.
public struct WireReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    public init(_ bytes: ArraySlice<UInt8>) { self.init(Array(bytes)) }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset == end }

    public func error(_ kind: WireError.Kind, _ field: String) -> WireError { WireError(kind, offset: offset, field: field) }

    mutating func need(_ n: Int, _ field: String) throws(WireError) {
        guard n >= 0, n <= remaining else { throw error(.truncated(needed: n, available: remaining), field) }
    }

    public mutating func readBytes(_ n: Int, _ field: String = "") throws(WireError) -> [UInt8] {
        try need(n, field)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    public mutating func skip(_ n: Int, _ field: String = "") throws(WireError) {
        try need(n, field)
        offset += n
    }

    public mutating func readUInt8(_ field: String = "") throws(WireError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func readLE<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(WireError) -> T {
        let n = MemoryLayout<T>.size
        try need(n, field)
        var v: T = 0
        for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }

    public mutating func readUInt16(_ field: String = "") throws(WireError) -> UInt16 { try readLE(UInt16.self, field) }
    public mutating func readUInt32(_ field: String = "") throws(WireError) -> UInt32 { try readLE(UInt32.self, field) }
    public mutating func readUInt64(_ field: String = "") throws(WireError) -> UInt64 { try readLE(UInt64.self, field) }
    public mutating func readInt32(_ field: String = "") throws(WireError) -> Int32 { Int32(bitPattern: try readUInt32(field)) }
    public mutating func readInt64(_ field: String = "") throws(WireError) -> Int64 { Int64(bitPattern: try readUInt64(field)) }

    public mutating func readHash(_ field: String = "") throws(WireError) -> Hash256 {
        Hash256(rawBytes: try readBytes(32, field))
    }

    /// Bitcoin CompactSize; rejects non-canonical encodings and values above `limit`.
    public mutating func readVarInt(_ field: String = "", limit: UInt64 = UInt64.max) throws(WireError) -> UInt64 {
        let start = offset
        let first = try readUInt8(field)
        let value: UInt64
        let minimum: UInt64
        switch first {
        case 0xFD: value = UInt64(try readUInt16(field)); minimum = 0xFD
        case 0xFE: value = UInt64(try readUInt32(field)); minimum = 0x1_0000
        case 0xFF: value = try readUInt64(field); minimum = 0x1_0000_0000
        default: value = UInt64(first); minimum = 0
        }
        guard value >= minimum else {
            throw WireError(.invalid("non-canonical variable-length integer"), offset: start, field: field)
        }
        guard value <= limit else { throw WireError(.tooLarge(what: "count", value: value, limit: limit), offset: start, field: field) }
        return value
    }

    /// A count that must also fit in the remaining bytes at `elementSize` bytes each (stops huge allocations).
    public mutating func readCount(_ field: String, limit: UInt64, elementSize: Int, varInt: Bool = true) throws(WireError) -> Int {
        let start = offset
        let n = varInt ? try readVarInt(field, limit: limit) : UInt64(try readUInt32(field))
        guard n <= limit else { throw WireError(.tooLarge(what: "count", value: n, limit: limit), offset: start, field: field) }
        guard elementSize == 0 || n <= UInt64(remaining / max(elementSize, 1)) else {
            throw WireError(.truncated(needed: Int(min(n, UInt64(Int.max / max(elementSize, 1)))) * elementSize, available: remaining), offset: offset, field: field)
        }
        return Int(n)
    }

    public mutating func readVarBytes(_ field: String = "", limit: UInt64) throws(WireError) -> [UInt8] {
        let n = try readCount(field, limit: limit, elementSize: 1)
        return try readBytes(n, field)
    }

    public mutating func readVarString(_ field: String = "", limit: UInt64) throws(WireError) -> String {
        let start = offset
        let b = try readVarBytes(field, limit: limit)
        guard let s = String(validating: b, as: UTF8.self) else {
            throw WireError(.invalid("not UTF-8"), offset: start, field: field)
        }
        return s
    }

    public func expectEnd(_ field: String) throws(WireError) {
        guard isAtEnd else { throw error(.trailingBytes(remaining), field) }
    }
}

/// A 32-byte hash (block hash, txid, Merkle node) kept in serialization ("raw", "internal") byte order.
/// `displayHex` is the byte-reversed form block explorers and Bitcoin RPC show; ELA's `Uint256.String()`
/// prints `rawHex`.
public struct Hash256: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawBytes: [UInt8]

    public static let zero = Hash256(rawBytes: [UInt8](repeating: 0, count: 32))

    /// `rawBytes` must be 32 bytes (anything else is padded/truncated; decoders always pass 32).
    public init(rawBytes: [UInt8]) {
        if rawBytes.count == 32 {
            self.rawBytes = rawBytes
        } else {
            self.rawBytes = Array((rawBytes + [UInt8](repeating: 0, count: 32)).prefix(32))
        }
    }

    /// Parses 64 hex digits in display (reversed) order.
    public init?(displayHex: String) {
        guard let raw = Hash256.hexBytes(displayHex), raw.count == 32 else { return nil }
        self.rawBytes = raw.reversed()
    }

    /// Parses 64 hex digits in raw (serialization) order.
    public init?(rawHex: String) {
        guard let raw = Hash256.hexBytes(rawHex), raw.count == 32 else { return nil }
        self.rawBytes = raw
    }

    public var rawHex: String { Hash256.hex(rawBytes) }
    public var displayHex: String { Hash256.hex(rawBytes.reversed()) }
    public var description: String { displayHex }

    /// Numeric order when read as a little-endian 256-bit number (how PoW compares hashes with targets).
    public static func < (lhs: Hash256, rhs: Hash256) -> Bool {
        for i in stride(from: 31, through: 0, by: -1) where lhs.rawBytes[i] != rhs.rawBytes[i] {
            return lhs.rawBytes[i] < rhs.rawBytes[i]
        }
        return false
    }

    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}

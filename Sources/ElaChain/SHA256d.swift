internal import Crypto
public import ElaWire

/// Double SHA-256 straight from a byte buffer, without building intermediate arrays (the hot path of header
/// validation hashes every header once).
enum SHA256d {
    /// SHA256(SHA256(bytes)) as a little-endian number (the raw hash bytes).
    @inline(__always)
    static func value(_ bytes: UnsafeRawBufferPointer) -> UInt256 {
        var first = SHA256()
        first.update(bufferPointer: bytes)
        let inner = first.finalize()
        var second = SHA256()
        inner.withUnsafeBytes { second.update(bufferPointer: $0) }
        return second.finalize().withUnsafeBytes { UInt256(littleEndianBytes: $0) }
    }

    static func value(_ bytes: [UInt8]) -> UInt256 { bytes.withUnsafeBytes { value($0) } }

    static func hash(_ bytes: [UInt8]) -> Hash256 { Hash256(value(bytes)) }

    /// SHA256d(left ‖ right): one Merkle step.
    static func pair(_ left: UInt256, _ right: UInt256) -> UInt256 {
        var buffer = (
            left.w0.littleEndian, left.w1.littleEndian, left.w2.littleEndian, left.w3.littleEndian,
            right.w0.littleEndian, right.w1.littleEndian, right.w2.littleEndian, right.w3.littleEndian
        )
        return withUnsafeBytes(of: &buffer) { value($0) }
    }
}

extension Hash256 {
    /// SHA256(SHA256(bytes)) in raw order (block hashes, txids, Merkle nodes).
    public static func sha256d(_ bytes: [UInt8]) -> Hash256 { SHA256d.hash(bytes) }

    /// The hash whose raw bytes are the little-endian bytes of `value`.
    public init(_ value: UInt256) { self.init(rawBytes: value.littleEndianBytes) }
}

extension UInt256 {
    /// The hash's raw bytes read as a little-endian number (the order PoW compares it with a target).
    public init(_ hash: Hash256) {
        self = hash.rawBytes.withUnsafeBytes { UInt256(littleEndianBytes: $0) }
    }
}

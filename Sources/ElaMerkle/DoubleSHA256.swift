internal import Crypto
import ElaWire

/// SHA-256(SHA-256(x)), the hash of Bitcoin/ELA block headers and Merkle nodes.
enum DoubleSHA256 {
    static func hash(_ bytes: [UInt8]) -> Hash256 {
        secondRound(SHA256.hash(data: bytes))
    }

    /// A Merkle parent: SHA256d(left ‖ right), both in raw order (no 64-byte concatenation is allocated).
    static func parent(_ left: Hash256, _ right: Hash256) -> Hash256 {
        var hasher = SHA256()
        hasher.update(data: left.rawBytes)
        hasher.update(data: right.rawBytes)
        return secondRound(hasher.finalize())
    }

    private static func secondRound(_ first: SHA256Digest) -> Hash256 {
        Hash256(rawBytes: Array(first.withUnsafeBytes { SHA256.hash(data: $0) }))
    }
}

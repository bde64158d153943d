internal import Crypto

/// SHA-256 helpers in the shapes the Elastos formats need.
public enum Digest {
    /// SHA-256 over the concatenation of `parts` (the Elastos signing digest: `EcdsaSigner.sha256Digest(byte[]...)`).
    public static func sha256(_ parts: [UInt8]...) -> [UInt8] { sha256(parts: parts) }

    /// SHA-256 over the concatenation of `parts`.
    public static func sha256(parts: [[UInt8]]) -> [UInt8] {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }

    /// SHA-256(SHA-256(bytes)): the Base58Check checksum hash.
    public static func sha256d(_ bytes: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array(SHA256.hash(data: bytes))))
    }

    /// RIPEMD-160(SHA-256(bytes)): Bitcoin's HASH160, used for DID ids and BIP32 key fingerprints.
    public static func hash160(_ bytes: [UInt8]) -> [UInt8] {
        RIPEMD160.hash(sha256(bytes))
    }

    /// HMAC-SHA512(key, data): BIP32's key-derivation function.
    static func hmacSHA512(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA512>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }

    /// SHA-256 digest in swift-crypto's type, for ECDSA.
    static func sha256Digest(parts: [[UInt8]]) -> SHA256Digest {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return hasher.finalize()
    }
}

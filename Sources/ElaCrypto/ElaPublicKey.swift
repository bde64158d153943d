internal import Crypto
internal import Synchronization

/// A secp256r1 (P-256) public key as Elastos uses it: a 33-byte SEC1 compressed point, written in Base58.
public struct ElaPublicKey: Sendable, Hashable {
    /// The 33-byte compressed point (0x02/0x03 || X).
    public let compressed: [UInt8]
    let key: P256.Signing.PublicKey

    /// Validates a 33-byte compressed point and checks that it lies on P-256.
    public init(compressed: [UInt8]) throws(KeyError) {
        guard compressed.count == 33 else {
            throw KeyError(.wrongLength(what: "compressed public key", expected: 33, actual: compressed.count))
        }
        guard compressed[0] == 0x02 || compressed[0] == 0x03 else { throw KeyError(.notCompressedPoint(prefix: compressed[0])) }
        let point = compressed
        if let known = Self.recent.withLock({ $0[point] }) {
            key = known
        } else {
            let decompressed: P256.Signing.PublicKey
            do {
                decompressed = try P256.Signing.PublicKey(compressedRepresentation: point)
            } catch {
                throw KeyError(.notOnCurve)
            }
            Self.recent.withLock { cache in
                if cache.count >= Self.recentLimit { cache.removeAll(keepingCapacity: true) }
                cache[point] = decompressed
            }
            key = decompressed
        }
        self.compressed = point
    }

    /// Keys decompressed lately. Decompressing takes a modular square root, a good part of checking a signed request,
    /// and the same few callers sign request after request. Only valid points get in; bounded by starting afresh.
    private static let recent = Mutex<[[UInt8]: P256.Signing.PublicKey]>([:])
    private static let recentLimit = 256

    /// Parses the `publicKeyBase58` form of a DID document key (Base58 of the 33 bytes, no checksum).
    public init(base58: String) throws(KeyError) {
        let bytes: [UInt8]
        // 33 bytes take at most 45 characters: a longer text is refused before the (quadratic) decoding.
        do { bytes = try Base58.decode(base58, maxLength: 64) } catch { throw KeyError(.base58(error)) }
        try self.init(compressed: bytes)
    }

    init(_ key: P256.Signing.PublicKey) {
        self.key = key
        self.compressed = Array(key.compressedRepresentation)
    }

    /// The `publicKeyBase58` text: Base58 of the 33 compressed bytes (44 or 45 characters).
    public var base58: String { Base58.encode(compressed) }

    /// Verifies a 64-byte raw r||s ECDSA signature over SHA-256(concatenation of `parts`).
    /// High-S signatures (s > n/2) are accepted, as the Elastos SDKs produce them. Any other length is rejected.
    public func isValidSignature(_ signature: [UInt8], over parts: [[UInt8]]) -> Bool {
        guard signature.count == 64,
            let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
        else { return false }
        return key.isValidSignature(parsed, for: Digest.sha256Digest(parts: parts))
    }

    public static func == (lhs: ElaPublicKey, rhs: ElaPublicKey) -> Bool { lhs.compressed == rhs.compressed }

    public func hash(into hasher: inout Hasher) { hasher.combine(compressed) }
}

extension ElaPublicKey: CustomStringConvertible {
    /// The Base58 form.
    public var description: String { base58 }
}

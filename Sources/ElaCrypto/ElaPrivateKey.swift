internal import Crypto
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#endif

/// A secp256r1 (P-256) private key that signs the Elastos way: ECDSA over SHA-256(concatenated inputs),
/// returning the raw 64-byte r||s form. The scalar lives inside BoringSSL, which wipes it when freed.
public struct ElaPrivateKey: Sendable {
    let key: P256.Signing.PrivateKey

    /// Imports a 32-byte big-endian scalar d; requires 0 < d < n.
    public init(rawRepresentation: [UInt8]) throws(KeyError) {
        guard rawRepresentation.count == 32 else {
            throw KeyError(.wrongLength(what: "private key", expected: 32, actual: rawRepresentation.count))
        }
        guard var scalar = P256Scalar(bigEndian: rawRepresentation), scalar.isValidPrivateKey else {
            throw KeyError(.privateKeyOutOfRange)
        }
        scalar.wipe()
        do {
            key = try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation)
        } catch {
            throw KeyError(.privateKeyOutOfRange)
        }
    }

    /// A fresh random key from BoringSSL's CSPRNG.
    public static func generate() -> ElaPrivateKey { ElaPrivateKey(key: P256.Signing.PrivateKey()) }

    private init(key: P256.Signing.PrivateKey) { self.key = key }

    /// The matching public key.
    public var publicKey: ElaPublicKey { ElaPublicKey(key.publicKey) }

    /// Calls `body` with the 32-byte scalar, then zeroes this function's own copies. The caller must zero any copy
    /// it keeps (the keystore encrypts and wipes it).
    public func withRawBytes<R>(_ body: ([UInt8]) throws -> R) rethrows -> R {
        var data = key.rawRepresentation
        var bytes = [UInt8](data)
        defer {
            data.resetBytes(in: 0..<data.count)
            for index in bytes.indices { bytes[index] = 0 }
        }
        return try body(bytes)
    }

    /// `count` bytes derived from this key for `purpose` (HKDF-SHA256 over the scalar; the purpose separates the
    /// uses): another key that comes back with this one when the identity is restored from its recovery words, and
    /// from which this key cannot be learned. The caller zeroes it when done.
    public func derivedSecret(purpose: String, count: Int) -> [UInt8] {
        withRawBytes { scalar in
            let derived = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: scalar), salt: Array("elastos-device-agent".utf8), info: Array(purpose.utf8),
                outputByteCount: count)
            return derived.withUnsafeBytes { Array($0) }
        }
    }

    /// Signs SHA-256(concatenation of `parts`); returns raw r||s, 64 bytes. k is random, so signatures differ per
    /// call: compare them by verifying, never byte for byte.
    public func signature(over parts: [[UInt8]]) throws(KeyError) -> [UInt8] {
        do {
            let signature = try key.signature(for: Digest.sha256Digest(parts: parts))
            return [UInt8](signature.rawRepresentation)
        } catch {
            throw KeyError(.signingFailed(String(describing: error)))
        }
    }
}

internal import CSodium

/// X25519 (RFC 7748) through libsodium. A Tox identity is a Curve25519 key pair, so the agent derives its carrier
/// address from the secret in its keystore without starting toxcore.
public enum Curve25519 {
    public static let keyLength = 32

    /// The public key of `secretKey` (`crypto_scalarmult_base`; the scalar is clamped as RFC 7748 says).
    public static func publicKey(secretKey: [UInt8]) throws(SodiumError) -> [UInt8] {
        try Sodium.initialize()
        guard secretKey.count == keyLength else { throw .invalidKeyLength(expected: keyLength, got: secretKey.count) }
        var out = [UInt8](repeating: 0, count: keyLength)
        guard crypto_scalarmult_base(&out, secretKey) == 0 else { throw .operationFailed(function: "crypto_scalarmult_base", errno: 0) }
        return out
    }
}

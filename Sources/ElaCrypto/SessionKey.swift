internal import Crypto

/// One side's ephemeral X25519 key for a session: both sides make one, swap the public halves (the DApp's inside
/// its DID-signed session proof), and derive the same ``SessionMACKey``. The private half never leaves memory.
public struct SessionKeyPair: Sendable {
    let privateKey: Curve25519.KeyAgreement.PrivateKey

    public init() { privateKey = Curve25519.KeyAgreement.PrivateKey() }

    /// A given private key (32 bytes): for known-answer tests.
    init(privateKey raw: [UInt8]) throws { privateKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) }

    /// 32 bytes, sent to the other side.
    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// HKDF-SHA256 over the X25519 secret with `salt` and `info`: the session's MAC key. Throws for a key that is
    /// not 32 bytes or a low-order point (an all-zero secret, which an attacker could predict).
    public func agree(peerPublicKey: [UInt8], salt: [UInt8], info: [UInt8]) throws(KeyError) -> SessionMACKey {
        guard peerPublicKey.count == 32 else {
            throw KeyError(.wrongLength(what: "X25519 session public key", expected: 32, actual: peerPublicKey.count))
        }
        let secret: SharedSecret
        do {
            secret = try privateKey.sharedSecretFromKeyAgreement(with: Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublicKey))
        } catch {
            throw KeyError(.keyAgreementFailed("\(error)"))
        }
        // swift-crypto on Linux returns the all-zero secret of a low-order point rather than failing (RFC 7748 6.1
        // says to check): anyone could compute that key.
        guard secret.withUnsafeBytes({ $0.contains { $0 != 0 } }) else {
            throw KeyError(.keyAgreementFailed("the peer's key is a low-order point (all-zero shared secret)"))
        }
        return SessionMACKey(key: secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt, sharedInfo: info, outputByteCount: 32))
    }
}

/// HMAC-SHA256 under a key only the two ends of a session know: a message with a good tag came from the peer that
/// signed the session proof, whoever relayed it.
public struct SessionMACKey: Sendable {
    /// HMAC state with the key already absorbed: each tag starts from a copy, so the key's padding and first two
    /// compressions are paid once per session instead of once per message (most of a short message's cost).
    let keyed: HMAC<SHA256>

    init(key: SymmetricKey) { keyed = HMAC<SHA256>(key: key) }

    public static let tagBytes = 32

    public func tag(_ message: [UInt8]) -> [UInt8] {
        var mac = keyed
        mac.update(data: message)
        return Array(mac.finalize())
    }

    /// Compares in constant time.
    public func isValid(tag: [UInt8], over message: [UInt8]) -> Bool {
        let expected = self.tag(message)
        guard tag.count == expected.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<tag.count { difference |= tag[i] ^ expected[i] }
        return difference == 0
    }
}

/// A key, signature or key-encoding failure.
public struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A byte string of the wrong size (`what` names the field, e.g. "compressed public key").
        case wrongLength(what: String, expected: Int, actual: Int)
        /// A compressed point whose first byte is not 0x02 or 0x03.
        case notCompressedPoint(prefix: UInt8)
        /// 33 well-formed bytes that are not a point on P-256.
        case notOnCurve
        /// A private scalar that is 0 or not below the P-256 order n.
        case privateKeyOutOfRange
        /// The Base58 text of a public key did not decode.
        case base58(Base58Error)
        /// The ECDSA implementation refused to sign (message from swift-crypto).
        case signingFailed(String)
        /// X25519 refused the peer's key (message from swift-crypto), e.g. a low-order point.
        case keyAgreementFailed(String)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .wrongLength(let what, let expected, let actual):
            return "\(what) must be \(expected) bytes, got \(actual)"
        case .notCompressedPoint(let prefix):
            return "public key must be a SEC1 compressed point starting with 0x02 or 0x03, got prefix 0x"
                + Hex.encode([prefix])
        case .notOnCurve:
            return "public key is not a point on secp256r1 (P-256): wrong curve (secp256k1?) or corrupted bytes"
        case .privateKeyOutOfRange:
            return "private key must be a 32-byte integer d with 0 < d < n (the P-256 group order)"
        case .base58(let error):
            return "public key Base58: \(error)"
        case .signingFailed(let message):
            return "ECDSA signing failed: \(message)"
        case .keyAgreementFailed(let message):
            return "X25519 key agreement failed: \(message)"
        }
    }
}

public import ElaSodium

/// How a keystore entry's encryption key is obtained.
public enum KeyProtection: Sendable {
    /// Key derived with Argon2id from a passphrase. The parameters apply when storing; loading
    /// uses the parameters recorded in the file.
    case passphrase(SecretBytes, Argon2id.Parameters = .moderate)
    /// Key derived from a root-only file of 32 random bytes, for unattended boot. `store`
    /// creates the file if it is missing; `load` never does.
    case machineSecret(path: String)

    /// Which kind of protection this is (recorded in every file's header).
    public var kind: ProtectionKind {
        switch self {
        case .passphrase: return .passphrase
        case .machineSecret: return .machineSecret
        }
    }
}

/// The protection kind byte of the file header.
public enum ProtectionKind: UInt8, Sendable, CustomStringConvertible {
    case passphrase = 1
    case machineSecret = 2

    public var description: String {
        switch self {
        case .passphrase: return "passphrase"
        case .machineSecret: return "machine secret"
        }
    }
}

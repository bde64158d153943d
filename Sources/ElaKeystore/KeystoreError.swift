#if canImport(Glibc)
import Glibc
#endif
public import ElaSodium

/// Keystore failures. Every case names the file involved and says what the user can do.
public enum KeystoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An entry name outside `[A-Za-z0-9._-]{1,64}` or starting with a dot.
    case invalidName(String, reason: String)
    /// No entry with this name.
    case notFound(path: String)
    /// Passphrase-protected file failed authentication.
    case wrongPassphraseOrCorrupt(path: String)
    /// Machine-secret-protected file failed authentication.
    case wrongMachineSecretOrCorrupt(path: String)
    /// The file is shorter than its header says it must be.
    case truncated(path: String, expected: Int, got: Int)
    /// The file does not start with the keystore magic `ELAKS`.
    case notAKeystoreFile(path: String)
    /// The file has a format version this build does not know.
    case unsupportedVersion(path: String, version: UInt8)
    /// The file was written with one protection kind and is being loaded with the other.
    case protectionMismatch(path: String, file: ProtectionKind, requested: ProtectionKind)
    /// A header field holds a value no valid writer produces.
    case corruptHeader(path: String, reason: String)
    /// The file is too large to be a keystore entry (or machine secret).
    case fileTooLarge(path: String, size: Int, limit: Int)
    /// The path is a directory, symlink, device or similar.
    case notARegularFile(path: String)
    /// The secret to store is larger than `Keystore.maximumSecretLength`.
    case secretTooLarge(size: Int, limit: Int)
    /// An empty passphrase was given for storing.
    case emptyPassphrase
    /// Argon2id parameters outside what the keystore accepts.
    case invalidParameters(String)
    /// The machine secret file does not exist (only `store` creates it).
    case machineSecretMissing(path: String)
    /// The machine secret file is readable or writable by group or others.
    case insecureMachineSecret(path: String, mode: UInt32)
    /// The machine secret file is owned by another user.
    case machineSecretWrongOwner(path: String, owner: UInt32, expected: UInt32)
    /// The machine secret file does not hold exactly 32 bytes.
    case machineSecretWrongSize(path: String, expected: Int, got: Int)
    /// A libsodium operation failed (e.g. Argon2id ran out of memory).
    case crypto(SodiumError, path: String)
    /// A system call failed.
    case io(errno: Int32, operation: String, path: String)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "invalid keystore entry name '\(name)': \(reason)"
        case .notFound(let path):
            return "\(path): no such keystore entry"
        case .wrongPassphraseOrCorrupt(let path):
            return "\(path): cannot decrypt: wrong passphrase, or the file was modified"
        case .wrongMachineSecretOrCorrupt(let path):
            return "\(path): cannot decrypt: wrong machine secret (was it replaced?), or the file was modified"
        case .truncated(let path, let expected, let got):
            return "\(path): file is truncated: \(got) bytes, expected \(expected); restore it from a backup"
        case .notAKeystoreFile(let path):
            return "\(path): not a keystore file (bad magic)"
        case .unsupportedVersion(let path, let version):
            return "\(path): unsupported keystore format version \(version); this build reads version \(KeystoreFormat.version)"
        case .protectionMismatch(let path, let file, let requested):
            return "\(path): file is protected by a \(file), but a \(requested) was given"
        case .corruptHeader(let path, let reason):
            return "\(path): corrupt header: \(reason)"
        case .fileTooLarge(let path, let size, let limit):
            return "\(path): file of \(size) bytes is larger than the \(limit)-byte limit"
        case .notARegularFile(let path):
            return "\(path): not a regular file"
        case .secretTooLarge(let size, let limit):
            return "secret of \(size) bytes is larger than the \(limit)-byte keystore limit"
        case .emptyPassphrase:
            return "the passphrase is empty"
        case .invalidParameters(let reason):
            return "invalid key-derivation parameters: \(reason)"
        case .machineSecretMissing(let path):
            return "\(path): machine secret does not exist (it is created only when a key is stored)"
        case .insecureMachineSecret(let path, let mode):
            return "\(path): machine secret has mode \(octal(mode)); group or others can access it. "
                + "Run 'chmod 600 \(path)', and treat keys protected by it as exposed"
        case .machineSecretWrongOwner(let path, let owner, let expected):
            return "\(path): machine secret is owned by uid \(owner), expected uid \(expected)"
        case .machineSecretWrongSize(let path, let expected, let got):
            return "\(path): machine secret holds \(got) bytes, expected \(expected)"
        case .crypto(let error, let path):
            return "\(path): \(error)"
        case .io(let code, let operation, let path):
            return "cannot \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

private func octal(_ mode: UInt32) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

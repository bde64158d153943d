internal import CSodium
#if canImport(Glibc)
internal import Glibc
#endif

/// Argon2id password hashing as a key-derivation function (libsodium `crypto_pwhash`,
/// algorithm `ARGON2ID13`, one lane).
public enum Argon2id {
    /// Cost parameters. They must be stored next to the salt: the same passphrase only gives
    /// the same key with the same salt and the same parameters.
    public struct Parameters: Sendable, Hashable, CustomStringConvertible {
        /// Number of passes over memory (libsodium `opslimit`).
        public var opsLimit: UInt64
        /// Memory used, in bytes (libsodium `memlimit`).
        public var memLimitBytes: Int

        public init(opsLimit: UInt64, memLimitBytes: Int) {
            self.opsLimit = opsLimit
            self.memLimitBytes = memLimitBytes
        }

        /// libsodium MODERATE: 3 passes, 256 MiB (about 0.7 s on a desktop, several s on a Pi).
        public static let moderate = Parameters(
            opsLimit: UInt64(csodium_pwhash_opslimit_moderate()), memLimitBytes: Int(csodium_pwhash_memlimit_moderate()))
        /// libsodium INTERACTIVE: 2 passes, 64 MiB.
        public static let interactive = Parameters(
            opsLimit: UInt64(csodium_pwhash_opslimit_interactive()),
            memLimitBytes: Int(csodium_pwhash_memlimit_interactive()))
        /// libsodium SENSITIVE: 4 passes, 1 GiB.
        public static let sensitive = Parameters(
            opsLimit: UInt64(csodium_pwhash_opslimit_sensitive()),
            memLimitBytes: Int(csodium_pwhash_memlimit_sensitive()))
        /// The library minimums (1 pass, 8 KiB). No protection at all: for fast tests only.
        public static let testing = Parameters(
            opsLimit: UInt64(csodium_pwhash_opslimit_min()), memLimitBytes: Int(csodium_pwhash_memlimit_min()))

        /// Smallest and largest values libsodium accepts.
        public static let opsLimitRange = UInt64(csodium_pwhash_opslimit_min())...UInt64(csodium_pwhash_opslimit_max())
        public static let memLimitRange =
            Int(csodium_pwhash_memlimit_min())...Int(clamping: UInt(bitPattern: csodium_pwhash_memlimit_max()))

        public var description: String { "Argon2id(opsLimit: \(opsLimit), memLimitBytes: \(memLimitBytes))" }
    }

    /// Salt size in bytes (16).
    public static let saltLength = Int(csodium_pwhash_saltbytes())
    /// Shortest derivable key (16 bytes).
    public static let minimumKeyLength = Int(csodium_pwhash_bytes_min())

    /// A fresh random salt.
    public static func randomSalt() -> [UInt8] { Sodium.randomBytes(saltLength) }

    /// Derives a `length`-byte key from `passphrase` and `salt`. Deterministic for equal inputs.
    /// Throws `SodiumError.outOfMemory` when the system cannot provide `memLimitBytes`.
    public static func deriveKey(
        passphrase: SecretBytes, salt: [UInt8], parameters: Parameters, length: Int
    ) throws(SodiumError) -> SecretBytes {
        try Sodium.initialize()
        try validate(passphrase: passphrase, salt: salt, parameters: parameters, length: length)
        return try SecretBytes(count: length) { (output) throws(SodiumError) in
            errno = 0
            let status = passphrase.withNonNullBytes { password, passwordLength in
                salt.withNonNullBytes { saltBytes, _ in
                    password.withMemoryRebound(to: CChar.self, capacity: max(passwordLength, 1)) { passwordChars in
                        crypto_pwhash(
                            output.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self),
                            UInt64(length), passwordChars, UInt64(passwordLength), saltBytes,
                            parameters.opsLimit, parameters.memLimitBytes, csodium_pwhash_alg_argon2id13())
                    }
                }
            }
            guard status == 0 else {
                // Inputs were validated above, so the documented cause is a refused allocation.
                let code = errno
                if code == ENOMEM || code == 0 { throw .outOfMemory(requestedBytes: parameters.memLimitBytes) }
                throw .operationFailed(function: "crypto_pwhash", errno: code)
            }
        }
    }

    private static func validate(
        passphrase: SecretBytes, salt: [UInt8], parameters: Parameters, length: Int
    ) throws(SodiumError) {
        guard salt.count == saltLength else { throw .invalidSaltLength(expected: saltLength, got: salt.count) }
        let maximumLength = Int(clamping: UInt(bitPattern: csodium_pwhash_bytes_max()))
        guard length >= minimumKeyLength, length <= maximumLength else {
            throw .invalidOutputLength(length, minimum: minimumKeyLength, maximum: maximumLength)
        }
        let maximumPassphrase = Int(clamping: UInt(bitPattern: csodium_pwhash_passwd_max()))
        guard passphrase.count <= maximumPassphrase else {
            throw .inputTooLong(passphrase.count, maximum: maximumPassphrase)
        }
        guard Parameters.opsLimitRange.contains(parameters.opsLimit) else {
            throw .invalidParameters(
                "opsLimit \(parameters.opsLimit) outside \(Parameters.opsLimitRange.lowerBound)...\(Parameters.opsLimitRange.upperBound)")
        }
        guard Parameters.memLimitRange.contains(parameters.memLimitBytes) else {
            throw .invalidParameters(
                "memLimitBytes \(parameters.memLimitBytes) outside \(Parameters.memLimitRange.lowerBound)...\(Parameters.memLimitRange.upperBound)")
        }
    }
}

/// Errors from the libsodium binding. Each case says what was wrong with the call.
public enum SodiumError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sodium_init()` failed: the process has no usable entropy source.
    case initializationFailed
    /// A key of the wrong size was given.
    case invalidKeyLength(expected: Int, got: Int)
    /// A key whose size is outside the range the primitive accepts.
    case keyLengthOutOfRange(Int, minimum: Int, maximum: Int)
    /// A nonce of the wrong size was given.
    case invalidNonceLength(expected: Int, got: Int)
    /// A salt of the wrong size was given.
    case invalidSaltLength(expected: Int, got: Int)
    /// A requested output length is outside what the primitive supports.
    case invalidOutputLength(Int, minimum: Int, maximum: Int)
    /// Argon2id cost parameters outside libsodium's limits.
    case invalidParameters(String)
    /// An input too large for the primitive.
    case inputTooLong(Int, maximum: Int)
    /// Ciphertext shorter than the authentication tag: it cannot be valid.
    case ciphertextTooShort(minimum: Int, got: Int)
    /// AEAD decryption failed: wrong key, wrong nonce, wrong associated data, or modified ciphertext.
    case authenticationFailed
    /// Argon2id could not allocate the memory its parameters ask for.
    case outOfMemory(requestedBytes: Int)
    /// A libsodium call failed for a reason it does not detail.
    case operationFailed(function: String, errno: Int32)

    public var description: String {
        switch self {
        case .initializationFailed:
            return "libsodium failed to initialise (no usable entropy source)"
        case .invalidKeyLength(let expected, let got):
            return "invalid key length \(got), expected \(expected) bytes"
        case .keyLengthOutOfRange(let length, let minimum, let maximum):
            return "invalid key length \(length), must be \(minimum)...\(maximum) bytes"
        case .invalidNonceLength(let expected, let got):
            return "invalid nonce length \(got), expected \(expected) bytes"
        case .invalidSaltLength(let expected, let got):
            return "invalid salt length \(got), expected \(expected) bytes"
        case .invalidOutputLength(let length, let minimum, let maximum):
            return "invalid output length \(length), must be \(minimum)...\(maximum) bytes"
        case .invalidParameters(let reason):
            return "invalid Argon2id parameters: \(reason)"
        case .inputTooLong(let length, let maximum):
            return "input of \(length) bytes exceeds the maximum of \(maximum)"
        case .ciphertextTooShort(let minimum, let got):
            return "ciphertext of \(got) bytes is shorter than the \(minimum)-byte authentication tag"
        case .authenticationFailed:
            return "authentication failed: wrong key, or the data was modified"
        case .outOfMemory(let requestedBytes):
            return "Argon2id could not allocate \(requestedBytes) bytes: lower memLimitBytes or free memory"
        case .operationFailed(let function, let errno):
            return "\(function) failed (errno \(errno))"
        }
    }
}

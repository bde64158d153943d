internal import CSodium

/// XChaCha20-Poly1305 AEAD (libsodium `crypto_aead_xchacha20poly1305_ietf_*`, combined mode).
///
/// The 24-byte nonce is large enough to pick at random for every message (`randomNonce()`).
/// Output of `seal` is the ciphertext followed by the 16-byte Poly1305 tag.
public enum XChaCha20Poly1305 {
    /// Key size in bytes (32).
    public static let keyLength = Int(csodium_xchacha_keybytes())
    /// Nonce size in bytes (24).
    public static let nonceLength = Int(csodium_xchacha_npubbytes())
    /// Authentication tag size in bytes (16); `seal` output is `plaintext.count + tagLength`.
    public static let tagLength = Int(csodium_xchacha_abytes())

    /// A fresh random nonce.
    public static func randomNonce() -> [UInt8] { Sodium.randomBytes(nonceLength) }

    /// A fresh random key.
    public static func randomKey() -> SecretBytes { Sodium.randomSecret(keyLength) }

    /// Encrypts and authenticates `plaintext`, and authenticates `associatedData` (not encrypted).
    public static func seal(
        _ plaintext: SecretBytes, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
    ) throws(SodiumError) -> [UInt8] {
        try plaintext.withNonNullBytes { (message, length) throws(SodiumError) -> [UInt8] in
            try seal(message: message, length: length, key: key, nonce: nonce, associatedData: associatedData)
        }
    }

    /// Encrypts and authenticates `plaintext` given as ordinary bytes.
    public static func seal(
        _ plaintext: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
    ) throws(SodiumError) -> [UInt8] {
        try plaintext.withNonNullBytes { (message, length) throws(SodiumError) -> [UInt8] in
            try seal(message: message, length: length, key: key, nonce: nonce, associatedData: associatedData)
        }
    }

    /// Verifies and decrypts `ciphertext` (ciphertext || tag).
    /// Throws `SodiumError.authenticationFailed` if key, nonce, associated data or ciphertext differ
    /// from what was sealed; the plaintext is never released in that case.
    public static func open(
        _ ciphertext: [UInt8], key: SecretBytes, nonce: [UInt8], associatedData: [UInt8] = []
    ) throws(SodiumError) -> SecretBytes {
        try Sodium.initialize()
        try checkKeyAndNonce(key: key, nonce: nonce)
        guard ciphertext.count >= tagLength else {
            throw .ciphertextTooShort(minimum: tagLength, got: ciphertext.count)
        }
        return try SecretBytes(count: ciphertext.count - tagLength) { (output) throws(SodiumError) in
            let status = ciphertext.withNonNullBytes { cipher, cipherLength in
                associatedData.withNonNullBytes { ad, adLength in
                    nonce.withNonNullBytes { npub, _ in
                        key.withNonNullBytes { k, _ in
                            var plainLength: UInt64 = 0
                            // The output pointer is valid even for an empty plaintext (SecretBytes allocates >= 1 byte).
                            return crypto_aead_xchacha20poly1305_ietf_decrypt(
                                output.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self),
                                &plainLength, nil, cipher, UInt64(cipherLength), ad, UInt64(adLength), npub, k)
                        }
                    }
                }
            }
            guard status == 0 else { throw .authenticationFailed }
        }
    }

    private static func seal(
        message: UnsafePointer<UInt8>, length: Int, key: SecretBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws(SodiumError) -> [UInt8] {
        try Sodium.initialize()
        try checkKeyAndNonce(key: key, nonce: nonce)
        let maximum = Int(clamping: UInt(bitPattern: csodium_xchacha_messagebytes_max()))
        guard length <= maximum else { throw .inputTooLong(length, maximum: maximum) }
        let outputLength = length + tagLength
        var status: Int32 = -1
        let output = [UInt8](unsafeUninitializedCapacity: outputLength) { buffer, initialized in
            // outputLength >= tagLength > 0, so the buffer has a base address.
            guard let out = buffer.baseAddress else {
                initialized = 0
                return
            }
            var written: UInt64 = 0
            status = associatedData.withNonNullBytes { ad, adLength in
                nonce.withNonNullBytes { npub, _ in
                    key.withNonNullBytes { k, _ in
                        crypto_aead_xchacha20poly1305_ietf_encrypt(
                            out, &written, message, UInt64(length), ad, UInt64(adLength), nil, npub, k)
                    }
                }
            }
            initialized = status == 0 ? Int(written) : 0
        }
        guard status == 0, output.count == outputLength else {
            throw .operationFailed(function: "crypto_aead_xchacha20poly1305_ietf_encrypt", errno: 0)
        }
        return output
    }

    private static func checkKeyAndNonce(key: SecretBytes, nonce: [UInt8]) throws(SodiumError) {
        guard key.count == keyLength else { throw .invalidKeyLength(expected: keyLength, got: key.count) }
        guard nonce.count == nonceLength else { throw .invalidNonceLength(expected: nonceLength, got: nonce.count) }
    }
}

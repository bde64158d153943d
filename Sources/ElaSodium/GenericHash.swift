internal import CSodium

/// BLAKE2b (libsodium `crypto_generichash`), used here as a keyed hash to derive subkeys.
public enum GenericHash {
    /// Allowed key sizes for `keyed(_:key:length:)` (16...64 bytes).
    public static let keyLengthRange =
        Int(csodium_generichash_keybytes_min())...Int(csodium_generichash_keybytes_max())
    /// Allowed output sizes (16...64 bytes).
    public static let outputLengthRange =
        Int(csodium_generichash_bytes_min())...Int(csodium_generichash_bytes_max())

    /// BLAKE2b-`length` of `message` keyed with `key`. With a fixed context string in `message`
    /// this derives a subkey bound to that context, so the root key is never used raw.
    public static func keyed(_ message: [UInt8], key: SecretBytes, length: Int = 32) throws(SodiumError) -> SecretBytes {
        try Sodium.initialize()
        guard keyLengthRange.contains(key.count) else {
            throw .keyLengthOutOfRange(key.count, minimum: keyLengthRange.lowerBound, maximum: keyLengthRange.upperBound)
        }
        guard outputLengthRange.contains(length) else {
            throw .invalidOutputLength(length, minimum: outputLengthRange.lowerBound, maximum: outputLengthRange.upperBound)
        }
        return try SecretBytes(count: length) { (output) throws(SodiumError) in
            let status = message.withNonNullBytes { input, inputLength in
                key.withNonNullBytes { k, keyLength in
                    crypto_generichash(
                        output.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self), length,
                        input, UInt64(inputLength), k, keyLength)
                }
            }
            guard status == 0 else { throw .operationFailed(function: "crypto_generichash", errno: 0) }
        }
    }
}

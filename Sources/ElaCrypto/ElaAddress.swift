/// The Elastos DID method-specific id ("iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y") of a public key
/// (`HDKey.getBinAddress` / `isAddressValid` in the Java SDK).
public enum ElaAddress {
    /// 0x67, `PADDING_IDENTITY`: makes every id start with "i".
    public static let identityPrefix: UInt8 = 0x67

    /// Base58Check(0x67 || RIPEMD160(SHA256(0x21 || pk33 || 0xAD))): 25 bytes, 34 characters.
    public static func identifier(for key: ElaPublicKey) -> String {
        identifier(compressedBytes: key.compressed)
    }

    /// The id of a key given as its 33 compressed bytes, without the (costly) on-curve check; nil if the bytes
    /// cannot be a compressed point. Used to find a document's default key before any signature is checked.
    public static func identifier(compressedKey: [UInt8]) -> String? {
        guard compressedKey.count == 33, compressedKey[0] == 0x02 || compressedKey[0] == 0x03 else { return nil }
        return identifier(compressedBytes: compressedKey)
    }

    private static func identifier(compressedBytes: [UInt8]) -> String {
        // The single-key "redeem script": push 33 bytes, the key, PADDING_STANDARD (0xAD).
        let script = [0x21] + compressedBytes + [0xAD]
        return Base58.encodeCheck([identityPrefix] + Digest.hash160(script))
    }

    /// "did:elastos:" followed by `identifier(for:)`.
    public static func did(for key: ElaPublicKey) -> String { "did:elastos:" + identifier(for: key) }

    /// True when `id` Base58-decodes to 25 bytes, starts with 0x67 and has a matching checksum.
    public static func isValidIdentifier(_ id: String) -> Bool {
        guard let payload = try? Base58.decodeCheck(id) else { return false }
        return payload.count == 21 && payload[0] == identityPrefix
    }
}

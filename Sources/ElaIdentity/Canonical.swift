public import ElaJSON

/// The exact bytes the Elastos SDKs sign: compact JSON in the normalized member order, NFC-normalized, UTF-8.
public enum Canonical {
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        let raw = JSONWriter.compactBytes(value)
        // NFC only matters for non-ASCII text; skip the work for the common all-ASCII case.
        if !raw.contains(where: { $0 >= 0x80 }) { return raw }
        return String(decoding: raw, as: UTF8.self)._nfcCodeUnits
    }

    /// The signed bytes as the Java and JS SDKs produce them: the same text without NFC normalization.
    /// Differs from `bytes` only for non-ASCII text that is not already NFC; verifiers accept either.
    public static func variants(_ value: JSONValue) -> [[UInt8]] {
        let raw = JSONWriter.compactBytes(value)
        if !raw.contains(where: { $0 >= 0x80 }) { return [raw] }
        let nfc = String(decoding: raw, as: UTF8.self)._nfcCodeUnits
        return nfc == raw ? [nfc] : [nfc, raw]
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }
}

/// What every signed Elastos object offers: its normalized form and the bytes its signature covers.
public protocol NormalizedJSONRepresentable {
    /// The normalized (canonical) JSON, including proofs.
    func normalizedJSON() -> JSONValue
}

extension NormalizedJSONRepresentable {
    /// The canonical text (`elactl did normalize`).
    public var normalizedString: String { Canonical.string(normalizedJSON()) }
}

/// The default public key type; the only one the SDKs sign with.
public let defaultKeyType = "ECDSAsecp256r1"

internal import ElaJSON

/// A `did:elastos:` identifier.
public struct DID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let prefix = "did:elastos:"
    /// The method-specific id, e.g. `iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y` or `foobar` for a customized DID.
    public let methodSpecificId: String
    /// `did:elastos:<id>`, kept because ids are compared and written far more often than they are made.
    public let description: String

    public init(methodSpecificId: String) throws(DIDError) {
        try self.init(methodSpecificId: methodSpecificId, description: DID.prefix + methodSpecificId)
    }

    private init(methodSpecificId: String, description: String) throws(DIDError) {
        guard !methodSpecificId.isEmpty, methodSpecificId.utf8AllSatisfy(DID.isIdChar) else {
            throw DIDError(.malformed, "invalid DID method-specific id '\(methodSpecificId)'")
        }
        self.methodSpecificId = methodSpecificId
        self.description = description
    }

    /// Parses `did:elastos:<id>`.
    public init(_ string: String) throws(DIDError) {
        guard string.hasPrefix(DID.prefix) else {
            throw DIDError(.malformed, "'\(string)' is not a did:elastos: DID")
        }
        try self.init(methodSpecificId: String(Substring(string.utf8.dropFirst(DID.prefix.utf8.count))), description: string)
    }

    public static func == (lhs: DID, rhs: DID) -> Bool { lhs.methodSpecificId == rhs.methodSpecificId }
    public func hash(into hasher: inout Hasher) { hasher.combine(methodSpecificId) }

    public static func < (lhs: DID, rhs: DID) -> Bool { lhs.description.javaPrecedes(rhs.description) }

    static func isIdChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

/// Orders proofs by creation time as the Java SDK's `Proof.compareTo` does: `(int)(created1 - created2)` in
/// milliseconds, overflow included (proofs more than ~24.8 days apart compare "wrongly"), so normalized multisig
/// output matches the SDK byte for byte.
func javaCreatedOrder(_ a: DIDDate?, _ b: DIDDate?) -> Int32 {
    let diffMillis = ((a?.secondsSince1970 ?? 0) &- (b?.secondsSince1970 ?? 0)) &* 1000
    return Int32(truncatingIfNeeded: diffMillis)
}

/// A DID URL such as `did:elastos:iXc...#primary`. Always absolute once parsed against a base DID.
public struct DIDURL: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let did: DID
    /// Everything after the DID: `#fragment`, or `;params`, `/path`, `?query` followed by an optional fragment.
    public let suffix: String
    /// The absolute form, kept for the same reason as `DID.description`.
    public let description: String

    public init(did: DID, fragment: String) {
        self.did = did
        self.suffix = "#" + fragment
        self.description = did.description + suffix
    }

    /// Parses an absolute (`did:elastos:x#k`) or relative (`#k`) DID URL; relative ones resolve against `base`.
    public init(_ text: String, base: DID?) throws(DIDError) {
        // The SDK parser trims, and (v1 compatibility) reads a bare "primary" as the fragment "#primary".
        let string = DIDURL.trimmed(text)
        let absolute = string.hasPrefix("did:")
        if absolute {
            let utf8 = string.utf8
            let isDelimiter = { (b: UInt8) in b == UInt8(ascii: ";") || b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") }
            let offset = string.utf8FirstOffset(where: isDelimiter) ?? utf8.count
            let end = utf8.index(utf8.startIndex, offsetBy: offset)
            self.did = try DID(String(string[..<end]))
            self.suffix = String(string[end...])
        } else {
            guard let base else { throw DIDError(.malformed, "relative DID URL '\(string)' has no DID to resolve against") }
            guard let first = string.first else { throw DIDError(.malformed, "empty DID URL") }
            self.did = base
            self.suffix = ";/?#".contains(first) ? string : "#" + string
        }
        guard suffix.utf8AllSatisfy({ $0 > 0x20 && $0 != 0x7F }) else {
            throw DIDError(.malformed, "invalid characters in DID URL '\(string)'")
        }
        // An absolute URL is its own description: no second copy built.
        self.description = absolute ? string : did.description + suffix
    }

    static func trimmed(_ s: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        // Almost always nothing to trim: answer from the end bytes without walking the characters.
        let isSpaceByte: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        if let first = s.utf8.first, let last = s.utf8.last, !isSpaceByte(first), !isSpaceByte(last) { return s }
        guard let first = s.firstIndex(where: { !isSpace($0) }), let last = s.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(s[first...last])
    }

    public var fragment: String? {
        guard let i = suffix.firstIndex(of: "#") else { return nil }
        return String(suffix[suffix.index(after: i)...])
    }

    public static func == (lhs: DIDURL, rhs: DIDURL) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// `#frag` when the URL belongs to `base`, else the absolute form (the SDKs' compact form).
    public func relative(to base: DID) -> String { did == base ? suffix : description }

    public static func < (lhs: DIDURL, rhs: DIDURL) -> Bool { lhs.description.javaPrecedes(rhs.description) }
}

extension String {
    /// `utf8.allSatisfy` over the string's own buffer when it has one: the UTF-8 view's iterator cost more than the
    /// rest of parsing a DID.
    func utf8AllSatisfy(_ predicate: (UInt8) -> Bool) -> Bool {
        utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes where !predicate(b) { return false }
            return true
        } ?? utf8.allSatisfy(predicate)
    }

    /// The offset of the first UTF-8 byte matching `predicate`, from the string's own buffer when it has one.
    func utf8FirstOffset(where predicate: (UInt8) -> Bool) -> Int? {
        utf8.withContiguousStorageIfAvailable { bytes in bytes.firstIndex(where: predicate) }
            ?? utf8.firstIndex(where: predicate).map { utf8.distance(from: utf8.startIndex, to: $0) }
    }
}

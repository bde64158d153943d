/// Entry names become file names, so they are restricted to a safe portable set.
enum EntryName {
    static let maximumLength = 64

    static func validate(_ name: String) throws(KeystoreError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw .invalidName(name, reason: "empty") }
        guard bytes.count <= maximumLength else {
            throw .invalidName(name, reason: "longer than \(maximumLength) characters")
        }
        guard bytes[0] != UInt8(ascii: ".") else { throw .invalidName(name, reason: "starts with a dot") }
        for byte in bytes where !isAllowed(byte) {
            throw .invalidName(name, reason: "only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")
        }
    }

    static func isValid(_ name: String) -> Bool {
        do {
            try validate(name)
            return true
        } catch {
            return false
        }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

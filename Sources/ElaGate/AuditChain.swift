internal import ElaCrypto
public import ElaStorage

/// The audit log's hash chain: `hash(n) = SHA-256(hash(n-1) || encode(row n))`, with 32 zero bytes before row 1.
///
/// `encode(row)` is unambiguous: a version tag, then every field in a fixed order, integers as 8 bytes big-endian
/// (two's complement), text as a 4-byte big-endian byte length followed by its UTF-8 bytes:
///
/// ```
/// str("ela-audit/1") || u64(seq) || i64(at_ms) || str(subject) || str(caller) || str(method) || str(capability)
///   || str(decision) || str(reason) || str(request)
/// ```
public enum AuditChain {
    public static let version = "ela-audit/1"

    /// The `prev_hash` of row 1.
    public static var genesisHash: [UInt8] { AuditLogStore.genesisHash }

    /// The bytes hashed after the previous hash.
    public static func encode(seq: Int64, entry: AuditEntry) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + entry.reason.utf8.count + entry.request.utf8.count + entry.subject.utf8.count)
        appendText(version, to: &out)
        appendInteger(seq, to: &out)
        appendInteger(entry.at, to: &out)
        for text in [
            entry.subject, entry.caller.rawValue, entry.method, entry.capability, entry.decision.rawValue, entry.reason,
            entry.request,
        ] {
            appendText(text, to: &out)
        }
        return out
    }

    /// The hash of a row: SHA-256(prevHash || encode(seq, entry)).
    public static func hash(seq: Int64, prevHash: [UInt8], entry: AuditEntry) -> [UInt8] {
        Digest.sha256(parts: [prevHash, encode(seq: seq, entry: entry)])
    }

    /// The store the gate appends to, hashing with this chain; rows are written ahead to `journalPath` if given.
    public static func logStore(_ store: AgentStore, journalPath: String? = nil) -> AuditLogStore {
        AuditLogStore(store, journalPath: journalPath) { seq, prevHash, entry in hash(seq: seq, prevHash: prevHash, entry: entry) }
    }

    private static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    private static func appendText(_ text: String, to out: inout [UInt8]) {
        let count = UInt32(truncatingIfNeeded: text.utf8.count)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: count >> UInt32(shift))) }
        out.append(contentsOf: text.utf8)
    }
}

internal import ElaCrypto
internal import ElaJSON
public import ElaStorage

/// Retention's cuts as rows of the chain itself: each cut appends an `audit.prune` row (subject `agent`) naming the
/// last row removed and its hash. `audit verify` then requires the mark the store keeps to be one a cut recorded, so
/// deleting the oldest rows and writing a mark by hand shows, unless the chain's newer rows are rewritten as well
/// (which only an anchor kept elsewhere catches, as for any rewrite).
public enum AuditRetentionCut {
    public static let method = "audit.prune"
    public static let subject = "agent"

    /// The row a cut of rows `first...through` appends.
    static func entry(first: Int64, through: Int64, hash: [UInt8], retention: AuditRetention, nowMillis: Int64) -> AuditEntry {
        var limits: [String] = []
        if retention.maxRows > 0 { limits.append("max_rows \(retention.maxRows)") }
        if retention.maxAgeMillis > 0 { limits.append("max_age_days \(retention.maxAgeMillis / 86_400_000)") }
        let request = JSONObject([
            ("first", .number(JSONNumber(first))), ("through", .number(JSONNumber(through))), ("hash", .string(Hex.encode(hash))),
        ])
        return AuditEntry(
            at: nowMillis, subject: subject, caller: .admin, method: method, capability: "", decision: .allow,
            reason: "retention (\(limits.joined(separator: ", "))) removed rows \(first)-\(through)",
            request: JSONWriter.compact(.object(request)))
    }

    /// The (last row removed, its hash) a row records, if it is a cut's row.
    static func recorded(by entry: AuditEntry) -> AuditHead? {
        guard entry.method == method, entry.subject == subject, entry.caller == .admin,
            let json = try? JSONParser.parse(entry.request), let through = json["through"]?.numberValue?.int64Value,
            let hash = json["hash"]?.stringValue.flatMap({ try? Hex.decode($0) })
        else { return nil }
        return AuditHead(seq: through, hash: hash)
    }
}

extension Gate {
    /// Applies `retention` once: up to `batch` of the oldest rows go, and the cut is recorded in the chain
    /// (see ``AuditLogStore/prune(_:nowMillis:batch:recordingCut:)``). Returns the rows removed.
    public func pruneAudit(_ retention: AuditRetention, nowMillis: Int64, batch: Int = 5000) throws -> Int64 {
        try audit.prune(retention, nowMillis: nowMillis, batch: batch) { first, through, hash in
            AuditRetentionCut.entry(first: first, through: through, hash: hash, retention: retention, nowMillis: nowMillis)
        }
    }
}

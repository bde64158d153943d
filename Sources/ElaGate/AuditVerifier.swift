internal import ElaCrypto
public import ElaStorage

/// Something `audit verify` found wrong.
public enum AuditProblem: Sendable, Equatable, CustomStringConvertible {
    /// The row's fields (or its stored prev_hash) do not hash to its stored hash: the row was edited.
    case hashMismatch(seq: Int64)
    /// The row's prev_hash is not the previous row's hash: the row before it was replaced, or the row was re-hashed.
    case brokenLink(seq: Int64)
    /// Sequence numbers `from...to` are missing: rows were deleted.
    case missingRows(from: Int64, to: Int64)
    /// A prev_hash or hash that is not 32 bytes.
    case malformedHash(seq: Int64)
    /// The head row does not name the last row: the tail was deleted (or rows were added behind the gate's back).
    case headMismatch(headSeq: Int64?, lastSeq: Int64?)
    /// An externally kept head (seq, hash) is not in the chain: the log was rewritten since it was recorded.
    case anchorMismatch(seq: Int64)
    /// The anchor's row was removed by retention: it cannot be checked (give a newer one).
    case anchorRemoved(seq: Int64)
    /// Rows up to `seq` are gone, but no `audit.prune` row in the chain records a cut there: removed by hand.
    case unrecordedCut(seq: Int64)
    /// Rows at or below retention's mark, where none can be (retention removes them with the mark's move): planted.
    case rowsBelowCut(count: Int64, seq: Int64)
    /// The log could not be read (I/O error, or a row holding values this program never writes).
    case unreadable(String)

    public var description: String {
        switch self {
        case .hashMismatch(let seq): "row \(seq): hash does not match its contents (row edited)"
        case .brokenLink(let seq): "row \(seq): prev_hash does not match row \(seq - 1)'s hash (chain broken)"
        case .missingRows(let from, let to):
            from == to ? "row \(from) is missing (deleted)" : "rows \(from)-\(to) are missing (deleted)"
        case .malformedHash(let seq): "row \(seq): prev_hash or hash is not 32 bytes"
        case .headMismatch(let headSeq, let lastSeq):
            "head names row \(headSeq.map(String.init) ?? "none") but the last row is \(lastSeq.map(String.init) ?? "none")"
                + ((headSeq ?? 0) > (lastSeq ?? 0) ? " (rows at the end were deleted)" : "")
        case .anchorMismatch(let seq): "row \(seq) does not have the recorded hash (the log was rewritten)"
        case .anchorRemoved(let seq): "row \(seq), the anchor, was removed by retention and cannot be checked (use a newer anchor)"
        case .unrecordedCut(let seq):
            "rows 1-\(seq) are gone but no audit.prune row in the chain records removing them (deleted by hand, or the cut's row was lost to a power cut)"
        case .rowsBelowCut(let count, let seq): "\(count) row(s) at or below row \(seq), where retention left none (inserted)"
        case .unreadable(let message): "audit log unreadable: \(message)"
        }
    }
}

/// The outcome of ``AuditVerifier/verify(_:anchor:pageSize:maxProblems:)``.
public struct AuditVerification: Sendable, Equatable {
    /// Rows read.
    public var rowCount: Int64
    /// The head at the end of the walk.
    public var head: AuditHead?
    /// In chain order; empty when the log is intact.
    public var problems: [AuditProblem]
    /// Where retention cut the log (the walk starts after it), nil if it never did.
    public var pruned: AuditPruneMark?

    public init(rowCount: Int64, head: AuditHead?, problems: [AuditProblem], pruned: AuditPruneMark? = nil) {
        self.rowCount = rowCount
        self.head = head
        self.problems = problems
        self.pruned = pruned
    }

    public var isOK: Bool { problems.isEmpty }

    /// `OK: 42 rows, head 42 <hash>` or the problems, one per line.
    public var summary: String {
        var notes = ""
        if let pruned { notes += " (rows 1-\(pruned.seq) removed by retention)" }
        if isOK {
            return "OK: \(rowCount) row(s)" + (head.map { ", head \($0.seq) \(Hex.encode($0.hash))" } ?? "") + notes
        }
        return "FAILED (\(rowCount) row(s) read\(notes)):\n" + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Walks the whole audit chain and reports every edited, deleted or re-linked row it can detect.
///
/// It detects: an edited row (its hash no longer matches), a row deleted in the middle or at the start (a gap in
/// the sequence), a re-hashed row (the next row's prev_hash no longer matches), and a deleted tail (the head row
/// names a later row). It cannot detect someone who rewrites every row from some point on and the head, hashing
/// correctly, unless an `anchor` recorded earlier (outside the device) pins a row's hash.
///
/// Rows that retention removed (``AuditLogStore/prune(_:nowMillis:batch:recordingCut:)``, which checked them first) are not
/// walked: the chain starts at its mark, and a cut made while the walk runs moves the start along.
public enum AuditVerifier {
    public static func verify(
        _ log: AuditLogStore, anchor: AuditHead? = nil, pageSize: Int = 1000, maxProblems: Int = 100
    ) -> AuditVerification {
        let result = walk(log, anchor: anchor, pageSize: pageSize, maxProblems: maxProblems)
        // A cut made while the walk ran may have its row still in the journal: one more walk after moving it in.
        guard result.problems.contains(where: { if case .unrecordedCut = $0 { true } else { false } }) else { return result }
        return walk(log, anchor: anchor, pageSize: pageSize, maxProblems: maxProblems)
    }

    static func walk(_ log: AuditLogStore, anchor: AuditHead?, pageSize: Int, maxProblems: Int) -> AuditVerification {
        var result = AuditVerification(rowCount: 0, head: nil, problems: [])
        func report(_ problem: AuditProblem) -> Bool {
            result.problems.append(problem)
            return result.problems.count < maxProblems
        }
        var lastSeq: Int64 = 0
        var lastHash = AuditChain.genesisHash
        var anchorSeen = false
        /// The (last row removed, hash) of every cut recorded in the rows walked.
        var recordedCuts: [AuditHead] = []
        // Rows still in the journal are part of the log: move them into the database first. If that fails, what the
        // database holds is still walked.
        do { try log.flush() } catch {
            _ = report(.unreadable("the audit journal: \(error)"))
        }
        walk: while true {
            let page: (records: [AuditRecord], head: AuditHead?, pruned: AuditPruneMark?, belowCut: Int64)
            do {
                page = try log.store.read { tx in
                    let pruned = try AuditLogStore.pruneMark(in: tx)
                    let after = max(lastSeq, pruned?.seq ?? 0)
                    return (
                        try log.records(afterSeq: after, limit: max(1, pageSize), in: tx), try log.head(in: tx), pruned,
                        try log.rowsBelowMark(in: tx)
                    )
                }
            } catch {
                _ = report(.unreadable("after row \(lastSeq): \(error)"))
                return result
            }
            if let pruned = page.pruned, pruned.seq > lastSeq {
                // Checked by the cut itself before the rows went; the rest of the chain must continue from it.
                lastSeq = pruned.seq
                lastHash = pruned.hash
                result.pruned = pruned
                if let anchor, anchor.seq <= pruned.seq, !anchorSeen {
                    anchorSeen = true
                    if anchor.seq < pruned.seq {
                        guard report(.anchorRemoved(seq: anchor.seq)) else { return result }
                    } else if anchor.hash != pruned.hash {
                        guard report(.anchorMismatch(seq: anchor.seq)) else { return result }
                    }
                }
            }
            if page.records.isEmpty {
                // This snapshot saw no rows after lastSeq, so its head must name exactly the last row read.
                result.head = page.head
                let headSeq = page.head?.seq
                let last: Int64? = result.rowCount == 0 ? nil : lastSeq
                if headSeq != last || (page.head.map { $0.hash != lastHash } ?? false) {
                    _ = report(.headMismatch(headSeq: headSeq, lastSeq: last))
                }
                if let pruned = page.pruned {
                    if page.belowCut > 0 { _ = report(.rowsBelowCut(count: page.belowCut, seq: pruned.seq)) }
                    // The mark must be one a cut wrote into the chain (in the same transaction as its move).
                    if !recordedCuts.contains(AuditHead(seq: pruned.seq, hash: pruned.hash)) { _ = report(.unrecordedCut(seq: pruned.seq)) }
                }
                break walk
            }
            for record in page.records {
                result.rowCount += 1
                if record.prevHash.count != 32 || record.hash.count != 32 {
                    guard report(.malformedHash(seq: record.seq)) else { return result }
                }
                if record.seq != lastSeq + 1 {
                    guard report(.missingRows(from: lastSeq + 1, to: record.seq - 1)) else { return result }
                } else if record.prevHash != lastHash {
                    guard report(.brokenLink(seq: record.seq)) else { return result }
                }
                if AuditChain.hash(seq: record.seq, prevHash: record.prevHash, entry: record.entry) != record.hash {
                    guard report(.hashMismatch(seq: record.seq)) else { return result }
                }
                if let cut = AuditRetentionCut.recorded(by: record.entry) { recordedCuts.append(cut) }
                if let anchor, anchor.seq == record.seq {
                    anchorSeen = true
                    if anchor.hash != record.hash { guard report(.anchorMismatch(seq: anchor.seq)) else { return result } }
                }
                lastSeq = record.seq
                lastHash = record.hash
            }
        }
        if let anchor, !anchorSeen, anchor.seq > 0 { _ = report(.anchorMismatch(seq: anchor.seq)) }
        return result
    }
}

import ElaStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the audit log within `[audit] max_rows` / `max_age_days`: shortly after start and then every few minutes,
/// the oldest rows past the limits are checked against the chain and removed, a batch per transaction so gated calls
/// (whose rows need the database too) are never held up for long.
final class AuditRetentionService: Service, Sendable {
    let log: AuditLogStore
    let retention: AuditRetention
    let logger: Logger
    let firstDelay: Duration
    let interval: Duration
    static let batch = 5000
    /// One pass at a time (the timer's and `elactl audit prune`'s).
    private let running = Mutex(false)
    /// The last failure logged, so a damaged row is reported once rather than every pass.
    private let lastFailure = Mutex<String?>(nil)

    init(log: AuditLogStore, retention: AuditRetention, logger: Logger, firstDelay: Duration = .seconds(30), interval: Duration = .seconds(300)) {
        self.log = log
        self.retention = retention
        self.logger = logger
        self.firstDelay = firstDelay
        self.interval = interval
    }

    func run() async throws {
        guard !retention.keepsEverything else { return }
        var delay = firstDelay
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let wait = delay
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) } } catch { return }
            delay = interval
            _ = await prune()
        }
    }

    /// The outcome of one pass: rows removed, and where the log now starts.
    struct Pass: Sendable {
        var removed: Int64
        var mark: AuditPruneMark?
        var failure: String?
        /// Another pass was running: this one did nothing.
        var busy = false
    }

    /// Removes every row due now, in batches, and logs what it did.
    func prune() async -> Pass {
        guard running.withLock({ r in defer { r = true }; return !r }) else { return Pass(removed: 0, busy: true) }
        defer { running.withLock { $0 = false } }
        var pass = Pass(removed: 0)
        // The journal's rows first, so the row count the limit applies to is the log's.
        try? log.flush()
        let firstKept = ((try? log.pruneMark())??.seq ?? 0) + 1
        while !Task.isCancelled {
            do {
                let removed = try log.prune(retention, nowMillis: wallMillis(), batch: Self.batch)
                pass.removed += removed
                if removed < Self.batch { break }
                // Let the gate's own writes in between batches.
                try? await Task.sleep(for: .milliseconds(20))
            } catch {
                pass.failure = "\(error)"
                break
            }
        }
        pass.mark = (try? log.pruneMark()) ?? nil
        if pass.removed > 0, let mark = pass.mark {
            logger.info(
                "audit retention removed rows \(firstKept)-\(mark.seq) (\(pass.removed) rows)",
                metadata: ["max_rows": "\(retention.maxRows)", "max_age_days": "\(retention.maxAgeMillis / 86_400_000)"])
        }
        let failure = pass.failure
        if lastFailure.withLock({ f in defer { f = failure }; return f != failure }), let failure {
            logger.error("\(failure)")
        }
        return pass
    }
}

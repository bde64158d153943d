import ElaGate
import ElaStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the audit log within `[audit] max_rows` / `max_age_days`: shortly after start and then every few minutes,
/// the oldest rows past the limits are checked against the chain and removed, a batch per transaction so gated calls
/// (whose rows need the database too) are never held up for long. Each cut is recorded in the chain.
final class AuditRetentionService: Service, Sendable {
    let gate: Gate
    let retention: AuditRetention
    let logger: Logger
    let firstDelay: Duration
    let interval: Duration
    static let batch = 5000
    /// A cut that keeps stopping (a damaged row) is logged again after this long, not at every pass.
    static let repeatFailureAfter: Duration = .seconds(3600)
    /// One pass at a time (the timer's and `elactl audit prune`'s).
    private let running = Mutex(false)
    /// The last failure logged and when.
    private let lastFailure = Mutex<(text: String, at: ContinuousClock.Instant)?>(nil)

    init(gate: Gate, retention: AuditRetention, logger: Logger, firstDelay: Duration = .seconds(30), interval: Duration = .seconds(300)) {
        self.gate = gate
        self.retention = retention
        self.logger = logger
        self.firstDelay = firstDelay
        self.interval = interval
    }

    func run() async throws {
        // A service that returns ends the agent's service group: with nothing to do, wait for the shutdown.
        guard !retention.keepsEverything else {
            try? await gracefulShutdown()
            return
        }
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
        let log = gate.audit
        // The journal's rows first, so the row count the limit applies to is the log's.
        do { try log.flush() } catch { logger.warning("audit retention: the journal could not be moved first", metadata: ["error": "\(error)"]) }
        let before = (try? log.pruneMark()) ?? nil
        let firstKept = (before?.seq ?? 0) + 1
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try gate.pruneAudit(retention, nowMillis: wallMillis(), batch: Self.batch)
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
        // From the mark: a batch that removed rows and then stopped at a bad one threw, so its count was not returned.
        pass.removed = (pass.mark?.rows ?? 0) - (before?.rows ?? 0)
        if pass.removed > 0, let mark = pass.mark {
            logger.info(
                "audit retention removed rows \(firstKept)-\(mark.seq) (\(pass.removed) rows)",
                metadata: ["max_rows": "\(retention.maxRows)", "max_age_days": "\(retention.maxAgeMillis / 86_400_000)"])
        }
        if let failure = pass.failure {
            let now = ContinuousClock.now
            let due = lastFailure.withLock { last -> Bool in
                guard last?.text != failure || last.map({ now - $0.at >= Self.repeatFailureAfter }) == true else { return false }
                last = (failure, now)
                return true
            }
            if due { logger.error("\(failure); the log grows past its limits until this is looked into") }
        } else {
            lastFailure.withLock { $0 = nil }
        }
        return pass
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaLoopExecutor
import ElaFileSystem
public import ElaJSON
public import ElaPluginProtocol
public import ElaSandbox
public import Logging
public import NIOCore
import Synchronization

/// Where a plugin is in its life.
public enum PluginRunState: String, Sendable, Equatable {
    case stopped, starting, running, backoff, failed, stopping
}

/// An event a plugin emitted, as the host passes it on.
public struct PluginEvent: Sendable, Equatable {
    public var plugin: String
    public var name: String
    public var params: JSONObject
    /// Unix milliseconds when the host received it.
    public var receivedAtMs: Int64

    public init(plugin: String, name: String, params: JSONObject, receivedAtMs: Int64) {
        self.plugin = plugin
        self.name = name
        self.params = params
        self.receivedAtMs = receivedAtMs
    }
}

/// A plugin's own request to the host (e.g. a bridge forwarding a command): answered by the daemon's router.
/// It runs on the plugin connection's event loop, so it must not block for long (slow work goes `offLoop`).
public typealias PluginRequestHandler = @Sendable (_ plugin: String, _ method: String, _ params: JSONObject) async -> Result<JSONValue, PluginProtocolError>

/// Knobs shared by every supervised plugin.
public struct PluginHostSettings: Sendable {
    /// `ela-sandbox`; nil runs plugins unconfined (a loud warning in `plugin list`).
    public var launcher: String?
    /// Why plugins must not start: the sandbox was asked for but its launcher is missing (never run unconfined then).
    public var launcherMissing: String?
    /// `<stateDir>/plugins`: each plugin gets `<root>/<name>` as its writable state directory.
    public var stateRoot: String
    /// Read-only paths every sandbox needs besides the system dirs (the plugin's folder is added per plugin).
    public var readOnlyPaths: [String]
    public var hostName: String
    /// Cgroup folder of this agent's plugins. The launcher treats `<parent>/<name>` as its own (it kills what it
    /// finds there), so two agents on one machine (tests, a devnet next to the service) must not share it.
    public var cgroupParent: String
    public var restart = RestartPolicy()
    /// The event loop for plugin connections: the control socket's, so a call and its answer stay on one thread.
    /// Nil: one from NIO's shared group.
    public var eventLoop: (any EventLoop)?
    public var pingInterval: Double = 5
    public var pingTimeout: Double = 3
    /// Consecutive unanswered pings before the plugin counts as hung and is killed.
    public var pingMisses = 2
    public var handshakeTimeout: Double = 10
    /// Grace after closing the socket, then after SIGTERM, before SIGKILL.
    public var stopGrace: Double = 3
    public var eventsPerSecond: Double = 2000
    /// Bytes of events per second (four times as many in a burst, at least 2 MiB); past it events are dropped and
    /// counted like those past `eventsPerSecond`.
    public var eventBytesPerSecond: Double = 1_048_576
    public var eventBurst: Double = 4000
    /// Events dropped by the rate limit within `floodWindow` seconds that mark a plugin as flooding (killed).
    public var floodKillThreshold = 20000
    public var floodWindow: Double = 10
    /// A plugin's own requests to the host: at most this many answered at once; and at most this many of the
    /// metered ones (all but `unmeteredRequest`: each is a gate decision and an audit row) per second, twice as many
    /// in a burst. More are answered `busy` at once, before any gate decision or audit row.
    public var pluginRequestsInFlight = 1024
    public var pluginRequestsPerSecond: Double = 500
    /// Requests that are a plugin's transport, not calls through the gate (plugin name, method): only the
    /// in-flight cap applies to them.
    public var unmeteredRequest: @Sendable (String, String) -> Bool = { _, method in method == "ela.ack" || method == "ela.device" }
    /// Malformed frames tolerated per run before the plugin is killed.
    public var maxViolations = 16
    /// Lines of stderr kept per plugin for `elactl plugin logs`.
    public var logLines = 500
    /// Log at most this many stderr lines per second per plugin (the rest are counted, and kept for `plugin logs`).
    public var stderrLinesPerSecond: Double = 50

    public init(launcher: String?, stateRoot: String, readOnlyPaths: [String], hostName: String) {
        self.launcher = launcher
        self.stateRoot = stateRoot
        self.readOnlyPaths = readOnlyPaths
        self.hostName = hostName
        self.cgroupParent = Self.cgroupParent(stateRoot: stateRoot)
    }

    /// `ela-agent` for the packaged state directory, else `ela-agent-<hash of the state root>`.
    public static func cgroupParent(stateRoot: String) -> String {
        if stateRoot == "/var/lib/ela-agent/plugins" { return "ela-agent" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in stateRoot.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return "ela-agent-" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// One stderr line (or host note) about a plugin.
public struct PluginLogLine: Sendable, Equatable {
    public var atMs: Int64
    public var text: String
}

/// What `elactl plugin list|info` shows.
public struct PluginStatus: Sendable {
    public var name: String
    public var version: String
    public var state: PluginRunState
    public var pid: Int32?
    public var uid: Int?
    public var sinceMs: Int64
    public var restarts: Int
    public var lastExit: Int32?
    public var lastCause: String?
    public var failure: String?
    public var sandbox: SandboxReport?
    public var sandboxed: Bool
    public var rssKB: Int?
    public var calls: Int
    public var eventsForwarded: Int
    /// Dropped by the host's rate limit.
    public var eventsDropped: Int
    /// Dropped inside the plugin (its own queue), from its last ping answer.
    public var pluginDroppedEvents: Int
    public var violations: Int
    /// The plugin's own requests answered `busy` (over the in-flight cap or the rate).
    public var requestsRefused: Int
    public var stderrSuppressed: Int
    public var descriptor: PluginDescriptor
    public var stateDirectory: String
}

/// Runs one plugin: spawn through the sandbox launcher, handshake, health pings, restart with backoff, crash-loop
/// detection, graceful stop. Calls go straight to the live connection without passing through the actor.
public actor PluginSupervisor {
    public nonisolated let descriptor: PluginDescriptor
    public nonisolated let settings: PluginHostSettings
    nonisolated let uid: Int
    nonisolated let config: JSONObject
    /// Device nodes the board grants this plugin (the manifest's globs pick among them); nil grants none.
    nonisolated let boardDevices: [String]?
    nonisolated let logger: Logger
    nonisolated let eventSink: @Sendable (PluginEvent) -> Void
    nonisolated let requestHandler: PluginRequestHandler?
    nonisolated let live = Mutex<PluginConnection?>(nil)
    nonisolated let counters = Mutex(Counters())
    nonisolated let logBuffer: Mutex<[PluginLogLine]> = Mutex([])

    struct Counters {
        var calls = 0
        var eventsForwarded = 0
        var eventsDropped = 0
        var dropWindowStart: Double = 0
        var dropsInWindow = 0
        var violations = 0
        var stderrSuppressed = 0
        var pluginDroppedEvents = 0
        var rssKB: Int?
        var killCause: String?
        var limiter: RateLimiter?
        var byteLimiter: RateLimiter?
        var stderrLimiter: RateLimiter?
        /// The plugin's own requests to the host (`ela.*`, calls through the gate): how many are being answered, and
        /// their rate. Each may cost a gate decision and an audit row, so neither may grow without bound.
        var requestsInFlight = 0
        var requestLimiter: RateLimiter?
        var requestsRefused = 0
    }

    private var state: PluginRunState = .stopped
    private var sinceMs: Int64 = wallMs()
    private var wanted = false
    private var loop: Task<Void, Never>?
    private var tracker: RestartTracker
    private var process: PluginProcess?
    private var lastExit: Int32?
    private var lastCause: String?
    private var failure: String?
    private var report: SandboxReport?
    private var wake: CheckedContinuation<Void, Never>?
    /// Which backoff sleep `wake` belongs to: a stale timer must not cut a later one short.
    private var wakeToken = 0
    private var stopsInProgress = 0
    /// A start asked for during a stop, done once the stop finishes.
    private var startAfterStop = false

    public init(
        descriptor: PluginDescriptor, settings: PluginHostSettings, uid: Int, config: JSONObject, boardDevices: [String]? = nil,
        logger: Logger, eventSink: @escaping @Sendable (PluginEvent) -> Void, requestHandler: PluginRequestHandler? = nil
    ) {
        self.descriptor = descriptor
        self.boardDevices = boardDevices
        self.settings = settings
        self.uid = uid
        self.config = config
        self.logger = logger
        self.eventSink = eventSink
        self.requestHandler = requestHandler
        self.tracker = RestartTracker(policy: settings.restart)
    }

    public nonisolated var name: String { descriptor.name }
    /// The connection of the running plugin (nil while it is down or still in its handshake): host services that
    /// push notifications to a plugin use it.
    public nonisolated var connection: PluginConnection? { live.withLock { $0 } }
    public nonisolated var stateDirectory: String { settings.stateRoot + "/" + descriptor.name }

    // MARK: control

    /// Starts the plugin (a no-op if it is already up); clears a `failed` state. During a stop it waits for the stop
    /// to finish, then starts: otherwise the run loop would take the stopped process for a crash and restart it, and
    /// the stop would wait for that loop forever.
    public func start() {
        if stopsInProgress > 0 {
            startAfterStop = true
            return
        }
        wanted = true
        guard loop == nil else { return }
        tracker.reset()
        failure = nil
        loop = Task { await self.runLoop() }
    }

    /// Stops the plugin and waits until its process is gone.
    public func stop() async {
        wanted = false
        startAfterStop = false
        stopsInProgress += 1
        wake?.resume()
        wake = nil
        if let process, process.exited == nil {
            setState(.stopping)
            await Self.terminate(process, connection: live.withLock { $0 }, grace: settings.stopGrace)
        }
        let task = loop
        await task?.value
        stopsInProgress -= 1
        if stopsInProgress == 0 && startAfterStop {
            startAfterStop = false
            start()
        }
    }

    public func restart() async {
        await stop()
        start()
    }

    /// Sends `method` to the plugin. Gate checks happen before this.
    public nonisolated func call(_ method: String, _ params: JSONObject, timeoutSeconds: Double = 10) async -> Result<JSONValue, PluginCallError> {
        await withCheckedContinuation { c in send(method, params, timeoutSeconds: timeoutSeconds) { c.resume(returning: $0) } }
    }

    /// Like ``call(_:_:timeoutSeconds:)`` without waiting; `completion` runs once (see `PluginConnection.send`).
    public nonisolated func send(
        _ method: String, _ params: JSONObject, timeoutSeconds: Double = 10,
        completion: @escaping @Sendable (Result<JSONValue, PluginCallError>) -> Void
    ) {
        guard let connection = live.withLock({ $0 }) else {
            return completion(.failure(.notRunning(plugin: name, state: "not connected")))
        }
        counters.withLock { $0.calls += 1 }
        connection.send(method, params, timeoutSeconds: timeoutSeconds, completion: completion)
    }

    public func status() -> PluginStatus {
        let c = counters.withLock { $0 }
        return PluginStatus(
            name: descriptor.name, version: descriptor.manifest.version, state: state,
            pid: process?.exited == nil ? process?.pid : nil, uid: settings.launcher == nil ? nil : uid, sinceMs: sinceMs,
            restarts: tracker.restarts, lastExit: lastExit, lastCause: lastCause, failure: failure, sandbox: report,
            sandboxed: settings.launcher != nil, rssKB: c.rssKB, calls: c.calls, eventsForwarded: c.eventsForwarded,
            eventsDropped: c.eventsDropped, pluginDroppedEvents: c.pluginDroppedEvents, violations: c.violations, requestsRefused: c.requestsRefused,
            stderrSuppressed: c.stderrSuppressed, descriptor: descriptor, stateDirectory: stateDirectory)
    }

    public nonisolated func logs(limit: Int = 100) -> [PluginLogLine] {
        logBuffer.withLock { Array($0.suffix(limit)) }
    }

    // MARK: the loop

    private func setState(_ s: PluginRunState) {
        if state != s { sinceMs = wallMs() }
        state = s
    }

    private func runLoop() async {
        while wanted {
            setState(.starting)
            let startedAt = monotonicSeconds()
            let cause = await runOnce()
            live.withLock { $0 = nil }
            process = nil
            guard wanted else { break }
            lastCause = cause
            switch tracker.failed(at: monotonicSeconds(), startedAt: startedAt, cause: cause) {
            case .fail(let reason):
                failure = reason
                note("failed: \(reason); not restarting (elactl plugin start \(name) tries again)")
                logger.error("plugin failed", metadata: ["plugin": "\(name)", "reason": "\(reason)"])
                setState(.failed)
                wanted = false
            case .restart(let delay):
                note("stopped (\(cause)); restarting in \(delay) s")
                logger.warning("plugin stopped; restarting", metadata: ["plugin": "\(name)", "cause": "\(cause)", "delay": "\(delay)"])
                setState(.backoff)
                await sleepUnlessStopped(delay)
            }
        }
        if state != .failed { setState(.stopped) }
        loop = nil
    }

    private func sleepUnlessStopped(_ seconds: Double) async {
        wakeToken += 1
        let token = wakeToken
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            wake = c
            Task {
                try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                self.wakeUp(token)
            }
        }
    }

    private func wakeUp(_ token: Int) {
        guard token == wakeToken else { return }
        wake?.resume()
        wake = nil
    }

    /// One run of the process; returns why it ended.
    private func runOnce() async -> String {
        counters.withLock { c in
            c.killCause = nil
            c.violations = 0
            c.dropsInWindow = 0
            c.limiter = RateLimiter(ratePerSecond: settings.eventsPerSecond, burst: settings.eventBurst, now: monotonicSeconds())
            c.byteLimiter = RateLimiter(
                ratePerSecond: settings.eventBytesPerSecond, burst: max(settings.eventBytesPerSecond * 4, 2_097_152), now: monotonicSeconds())
            c.stderrLimiter = RateLimiter(ratePerSecond: settings.stderrLinesPerSecond, burst: settings.stderrLinesPerSecond * 2, now: monotonicSeconds())
            // requestsInFlight is not reset: tasks of the last run still finish and count themselves out.
            c.requestLimiter = RateLimiter(
                ratePerSecond: settings.pluginRequestsPerSecond, burst: settings.pluginRequestsPerSecond * 2, now: monotonicSeconds())
        }
        report = nil
        let launch: PluginLaunch
        do { launch = try makeLaunch() } catch {
            note("cannot prepare: \(error)")
            return "cannot prepare: \(error)"
        }
        let process: PluginProcess
        do { process = try PluginProcess(launch) } catch {
            note("cannot start: \(error)")
            return error.description
        }
        self.process = process
        let exit = ExitLatch()
        let reportLines = Mutex<[String]>([])
        let consumer = Task { [self] in
            for await event in process.events {
                switch event {
                case .report(let line):
                    let lines = reportLines.withLock { l in
                        l.append(line)
                        return l
                    }
                    self.absorbReport(lines)
                case .stderr(let line): self.pluginStderr(line)
                case .exited(let code): exit.set(code)
                }
            }
            exit.set(process.exited ?? -1)
        }
        defer { consumer.cancel() }

        let connection: PluginConnection
        // Answers to the plugin's own requests go to this run's connection, also before the handshake is done.
        let replySlot = ConnectionBox()
        do {
            connection = try await PluginConnection.open(
                socket: process.socket, plugin: name, eventLoop: settings.eventLoop, callbacks: callbacks(process: process, replies: replySlot))
            replySlot.connection.withLock { $0 = connection }
        } catch {
            process.signal(SIGKILL)
            _ = await exit.wait()
            return "cannot open the plugin socket: \(error)"
        }
        // Handshake: the only valid first exchange.
        let hello = PluginHandshake.Hello(host: settings.hostName, config: config)
        let answer = await connection.call(PluginHandshake.method, hello.params, timeoutSeconds: settings.handshakeTimeout)
        let problem: String?
        switch answer {
        case .success(let result):
            do {
                let welcome = try PluginHandshake.Welcome(result: result, offered: hello.versions)
                problem = checkWelcome(welcome)
            } catch { problem = "handshake refused: \(error)" }
        case .failure(let e):
            problem = "handshake failed: \(e)"
        }
        if let problem {
            note(problem)
            await Self.terminate(process, connection: connection, grace: 1)
            let code = await exit.wait()
            lastExit = code
            return problem + exitText(code)
        }
        // The report's last line precedes the plugin's first byte, but it travels through another pipe: let it land
        // so `plugin list` never shows a half report.
        for _ in 0..<100 where settings.launcher != nil && report?.execPath == nil {
            try? await Task.sleep(for: .milliseconds(10))
        }
        live.withLock { $0 = connection }
        setState(.running)
        note("running (pid \(process.pid)\(report.map { ", sandbox " + $0.summary } ?? ", unsandboxed"))")
        logger.info("plugin running", metadata: ["plugin": "\(name)", "pid": "\(process.pid)", "sandbox": "\(report?.summary ?? "off")"])

        // Health pings until the process exits.
        let pinger = Task { [self] in await self.pingLoop(connection, process: process) }
        let code = await exit.wait()
        pinger.cancel()
        connection.close()
        lastExit = code
        let killed = counters.withLock { $0.killCause }
        if !wanted { return "stopped" + exitText(code) }
        return (killed ?? "exited") + exitText(code)
    }

    private func exitText(_ code: Int32) -> String {
        code > 128 ? " (signal \(code - 128))" : " (status \(code))"
    }

    /// Re-reads the launcher's report as its lines arrive (they all precede the exec line).
    private func absorbReport(_ lines: [String]) {
        guard let last = lines.last else { return }
        do {
            report = try SandboxReport(lines: lines.joined(separator: "\n"))
        } catch {
            note("unreadable sandbox report: \(error)")
            return
        }
        if let layer = report?.layers.last, last.contains("\"layer\""), layer.state == .partial || layer.state == .unavailable || layer.state == .failed {
            note("sandbox layer \(layer.name) \(layer.state): \(layer.detail)")
        }
        if let error = report?.error, last.contains("\"error\"") { note("sandbox launcher: \(error)") }
    }

    private func checkWelcome(_ welcome: PluginHandshake.Welcome) -> String? {
        guard welcome.name == descriptor.name else { return "plugin calls itself '\(welcome.name)', manifest says '\(descriptor.name)'" }
        let declared = Set(descriptor.manifest.methods.map(\.name))
        let offered = Set(welcome.methods)
        if declared != offered {
            return "methods differ from plugin.toml: missing \(declared.subtracting(offered).sorted()), undeclared \(offered.subtracting(declared).sorted())"
        }
        let events = Set(descriptor.manifest.events.map(\.name))
        if !Set(welcome.events).isSubset(of: events) {
            return "undeclared events \(Set(welcome.events).subtracting(events).sorted())"
        }
        return nil
    }

    private nonisolated func pingLoop(_ connection: PluginConnection, process: PluginProcess) async {
        var misses = 0
        var answersAtLastPing = connection.answersReceived
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(Int(settings.pingInterval * 1000))) } catch { return }
            defer { answersAtLastPing = connection.answersReceived }
            switch await connection.call(PluginHandshake.pingMethod, JSONObject(), timeoutSeconds: settings.pingTimeout) {
            case .success(let stats):
                misses = 0
                counters.withLock { c in
                    // Clamped: a plugin's numbers must not trap the host where Int is 32 bits (armhf).
                    if let kb = stats.objectValue?["rssKB"]?.numberValue?.int64Value { c.rssKB = Int(clamping: kb) }
                    if let d = stats.objectValue?["droppedEvents"]?.numberValue?.int64Value { c.pluginDroppedEvents = Int(clamping: d) }
                }
            case .failure(.busy) where connection.answersReceived != answersAtLastPing:
                // At its limit of calls but still answering them: busy, not hung.
                misses = 0
            case .failure(.timeout), .failure(.busy):
                // Busy with no answer since the last ping: a hung plugin under load looks like this.
                misses += 1
                if misses >= settings.pingMisses {
                    kill(process, cause: "hung: \(misses) pings unanswered within \(settings.pingTimeout) s")
                    return
                }
            case .failure(.remote), .failure(.tooLarge):
                misses = 0  // answered, even if with an error (a ping is never too large)
            case .failure(.disconnected), .failure(.notRunning):
                // The plugin closed its end. One that exits next is restarted by the run loop; one that keeps running
                // can no longer be called or pinged, so it is treated as hung. A stop closes the socket itself.
                if connection.wasClosedByHost { return }
                do { try await Task.sleep(for: .milliseconds(Int(settings.stopGrace * 1000))) } catch { return }
                if process.exited == nil && !connection.wasClosedByHost {
                    kill(process, cause: "closed its socket to the host but kept running")
                }
                return
            }
        }
    }

    /// Kills the run (the loop then restarts or fails it) and remembers why.
    nonisolated func kill(_ process: PluginProcess, cause: String) {
        let first = counters.withLock { c -> Bool in
            guard c.killCause == nil else { return false }
            c.killCause = "killed: " + cause
            return true
        }
        guard first else { return }
        note("killing: \(cause)")
        logger.error("plugin misbehaved; killing it", metadata: ["plugin": "\(descriptor.name)", "cause": "\(cause)"])
        process.signal(SIGKILL)
    }

    private nonisolated func callbacks(process: PluginProcess, replies: ConnectionBox) -> PluginConnectionCallbacks {
        let events = Set(descriptor.manifest.events.map(\.name))
        let plugin = descriptor.name
        return PluginConnectionCallbacks(
            notification: { [self] method, params, bytes in
                guard events.contains(method) else {
                    self.violation(.malformedFrame("undeclared event \(method)"), process: process)
                    return
                }
                let now = monotonicSeconds()
                let (allowed, flood) = counters.withLock { c -> (Bool, Bool) in
                    // Both budgets: events per second, and their bytes (large events would otherwise fill every
                    // subscriber's queue with megabytes each).
                    if c.limiter?.allow(now: now) ?? true, c.byteLimiter?.allow(now: now, cost: Double(bytes)) ?? true {
                        c.eventsForwarded += 1
                        return (true, false)
                    }
                    c.eventsDropped += 1
                    if now - c.dropWindowStart > settings.floodWindow {
                        c.dropWindowStart = now
                        c.dropsInWindow = 0
                    }
                    c.dropsInWindow += 1
                    return (false, c.dropsInWindow >= settings.floodKillThreshold)
                }
                if allowed {
                    self.eventSink(PluginEvent(plugin: plugin, name: method, params: params, receivedAtMs: wallMs()))
                } else if flood {
                    self.kill(process, cause: "flooding: over \(settings.floodKillThreshold) events dropped by the rate limit")
                }
            },
            violation: { [self] v in self.violation(v, process: process) },
            request: { [self] id, method, params in
                guard let handler = self.requestHandler else {
                    replies.connection.withLock { $0 }?.send(
                        .failure(id: id, PluginProtocolError(.methodNotFound, "the host serves no requests from plugins")))
                    return
                }
                // Refused before any work (no gate decision, no audit row) past the in-flight cap or the rate.
                let now = monotonicSeconds()
                // The rate meters calls through the gate (each is a decision and an audit row); a plugin's transport
                // (the carrier's reports, event acknowledgements) stays unmetered, under the in-flight cap.
                let metered = !settings.unmeteredRequest(plugin, method)
                let admitted = counters.withLock { c -> Bool in
                    guard c.requestsInFlight < settings.pluginRequestsInFlight, !metered || (c.requestLimiter?.allow(now: now) ?? true) else {
                        c.requestsRefused += 1
                        return false
                    }
                    c.requestsInFlight += 1
                    return true
                }
                guard admitted else {
                    replies.connection.withLock { $0 }?.send(
                        .failure(
                            id: id,
                            PluginProtocolError(
                                .pluginError,
                                "busy: at most \(settings.pluginRequestsInFlight) requests in flight and \(Int(settings.pluginRequestsPerSecond))/s from a plugin; retry later"
                            )))
                    return
                }
                // On the connection's loop (this callback runs there): a request, the plugin calls its handler makes
                // and their answers then stay on one thread, with no wake-up of a pool thread on the way.
                let loop = replies.connection.withLock { $0 }.map { EventLoopTaskExecutor($0.channel.eventLoop) }
                Task(executorPreference: loop) { [self] in
                    let result = await handler(plugin, method, params)
                    self.counters.withLock { $0.requestsInFlight -= 1 }
                    let reply: PluginMessage =
                        switch result {
                        case .success(let v): .response(id: id, result: v)
                        case .failure(let e): .failure(id: id, e)
                        }
                    replies.connection.withLock { $0 }?.send(reply)
                }
            },
            closed: {})
    }

    private nonisolated func violation(_ v: PluginViolation, process: PluginProcess) {
        let count = counters.withLock { c in
            c.violations += 1
            return c.violations
        }
        switch v {
        case .oversizeFrame(let m):
            kill(process, cause: "protocol violation: \(m)")
        case .malformedFrame(let m):
            if count <= 3 { note("protocol violation: \(m)") }
            if count > settings.maxViolations { kill(process, cause: "protocol violations: \(count) bad frames, last: \(m)") }
        case .unexpectedResponse(let id):
            if count <= 3 { note("protocol violation: answer to unknown request \(id.map(String.init) ?? "null")") }
            if count > settings.maxViolations { kill(process, cause: "protocol violations: \(count) bad frames") }
        }
    }

    private nonisolated func pluginStderr(_ line: String) {
        let now = monotonicSeconds()
        append(line)
        let allowed = counters.withLock { c -> Bool in
            if c.stderrLimiter?.allow(now: now) ?? true { return true }
            c.stderrSuppressed += 1
            return false
        }
        if allowed { logger.notice("\(line)", metadata: ["plugin": "\(descriptor.name)"]) }
    }

    /// A host note in the plugin's log (what `elactl plugin logs` shows next to its stderr).
    nonisolated func note(_ text: String) { append("[ela-agent] " + text) }

    private nonisolated func append(_ text: String) {
        let line = PluginLogLine(atMs: wallMs(), text: text)
        let limit = settings.logLines
        logBuffer.withLock { buffer in
            buffer.append(line)
            if buffer.count > limit + limit / 4 { buffer.removeFirst(buffer.count - limit) }
        }
    }

    private func makeLaunch() throws(PluginSpawnError) -> PluginLaunch {
        let manifest = descriptor.manifest
        var environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "ELA_PLUGIN_NAME": manifest.name,
        ]
        if manifest.sandbox.stateDirectory { environment["ELA_STATE_DIR"] = stateDirectory }
        if let missing = settings.launcherMissing { throw PluginSpawnError(message: missing) }
        guard let launcher = settings.launcher else {
            if manifest.sandbox.stateDirectory {
                do { try FileSystem.makeDirectory(stateDirectory, mode: 0o750) } catch { throw PluginSpawnError(message: "\(error)") }
            }
            return PluginLaunch(arguments: [descriptor.executable], environment: environment, reportFD: nil)
        }
        let exeDir = String(descriptor.executable[..<(descriptor.executable.lastIndex(of: "/") ?? descriptor.executable.endIndex)])
        var readOnly = settings.readOnlyPaths
        // Only nodes the board names, and only those the manifest asks for (its globs): a manifest alone grants
        // nothing, or a plugin could ask for the SD card and get it as its own.
        let grantedDevices = (boardDevices ?? []).filter { node in manifest.sandbox.devices.contains { fnmatch($0, node, 0) == 0 } }
        // The agent's own state (keystore, grants, audit log) is next to the plugins' state root: the launcher refuses
        // any granted path that is, holds or lies inside it, on the real paths.
        let agentState = String(settings.stateRoot[..<(settings.stateRoot.lastIndex(of: "/") ?? settings.stateRoot.endIndex)])
        // A manifest's own read-only paths must not open what the host closes to the plugin's uid (the launcher makes
        // their parents 0755 in the sandbox). The plugin's own program folder is the agent's to show, wherever it is.
        for p in manifest.sandbox.readOnly {
            if let closed = GrantedPathCheck.closedAncestor(of: p, uid: UInt32(clamping: uid), gid: UInt32(clamping: uid)) {
                throw PluginSpawnError(message: "read_only path \(p) is not granted: \(closed) is closed to the plugin's uid on this host")
            }
        }
        for p in [descriptor.directory, exeDir] + manifest.sandbox.readOnly where !readOnly.contains(p) { readOnly.append(p) }
        let policy = SandboxPolicy(
            name: manifest.name, uid: UInt32(clamping: uid), gid: UInt32(clamping: uid),
            stateDirectory: manifest.sandbox.stateDirectory ? stateDirectory : nil,
            readOnlyPaths: readOnly, readWritePaths: [], deniedPaths: agentState.isEmpty ? [] : [agentState], devices: grantedDevices,
            network: manifest.sandbox.network,
            memoryMB: manifest.sandbox.memoryMB, pids: manifest.sandbox.pids, cgroupParent: settings.cgroupParent,
            environment: environment)
        let reportFD: Int32 = 4
        return PluginLaunch(
            arguments: policy.launcherArguments(launcher: launcher, reportFD: reportFD, executable: descriptor.executable, arguments: []),
            environment: environment, reportFD: reportFD)
    }

    /// Close the socket (a well-behaved plugin exits), then SIGTERM, then SIGKILL.
    static func terminate(_ process: PluginProcess, connection: PluginConnection?, grace: Double) async {
        connection?.close()
        if await waitExit(process, seconds: grace) { return }
        process.signal(SIGTERM)
        if await waitExit(process, seconds: grace) { return }
        process.signal(SIGKILL)
        _ = await waitExit(process, seconds: 10)
    }

    static func waitExit(_ process: PluginProcess, seconds: Double) async -> Bool {
        let deadline = monotonicSeconds() + seconds
        while process.exited == nil {
            if monotonicSeconds() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// Set once by the process watcher; awaited by the run loop.
final class ExitLatch: Sendable {
    private let state = Mutex<(code: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    func set(_ code: Int32) {
        let waiters = state.withLock { s -> [CheckedContinuation<Int32, Never>] in
            guard s.code == nil else { return [] }
            s.code = code
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for w in waiters { w.resume(returning: code) }
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { c in
            let code = state.withLock { s -> Int32? in
                if let code = s.code { return code }
                s.waiters.append(c)
                return nil
            }
            if let code { c.resume(returning: code) }
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func wallMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

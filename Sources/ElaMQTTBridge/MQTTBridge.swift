#if canImport(Glibc)
import Glibc
#endif
public import ElaJSON
import ElaMosquitto
import Synchronization

/// What the bridge needs from its host (the plugin): relaying a signed command to the agent's gate, being told
/// which host events are safely stored, and a log line.
public struct BridgeHooks: Sendable {
    /// Passes the signed request text to the agent (gate, audit, plugin) and returns its result or (code, message).
    public var relay: @Sendable (CommandEnvelope) async -> Result<JSONValue, CommandFailure>
    /// The newest host event now durable in the outbox: the host may forget it and everything before.
    public var stored: @Sendable (EventSource) -> Void
    public var log: @Sendable (String) -> Void

    public init(
        relay: @escaping @Sendable (CommandEnvelope) async -> Result<JSONValue, CommandFailure>,
        stored: @escaping @Sendable (EventSource) -> Void = { _ in }, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.relay = relay
        self.stored = stored
        self.log = log
    }
}

/// The agent's answer to a relayed command when it is an error.
public struct CommandFailure: Error, Sendable, Equatable {
    public var code: Int
    public var message: String
    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }
}

/// The bridge: events go into the durable outbox first, then to the broker as QoS 1 (leaving the outbox on PUBACK);
/// commands from `<base>/cmd/<method>` are relayed to the gate and answered on `<base>/reply/<id>`; the retained
/// status topic says online/offline (the offline one via the last will).
public final class MQTTBridge: Sendable {
    public let config: BridgeConfig
    public let topics: MQTTTopics
    public let deviceDID: String
    let hooks: BridgeHooks
    let client: MosquittoClient
    /// Lets the network thread's handler reach the bridge created after the client.
    let sink = EventSink()
    let worker = Worker()
    let outboxPath: String

    struct Shared {
        var entries: [OutboxEntry] = []
        var acks: [Int32] = []
        var link: BridgeLink
        var announce = false
        var online = false
        var stopping = false
        var stats: OutboxStats?
        var failure: String?
        var commandsRelayed = 0
        var commandsRefused = 0
        var commandsRejected = 0
        var lastRejection: String?
        var publishErrors = 0
    }
    let shared: Mutex<Shared>

    /// Opens (or creates) the outbox at `outboxPath` and prepares the client; `start` connects.
    public init(config: BridgeConfig, deviceDID: String, outboxPath: String, hooks: BridgeHooks) throws(BridgeStartError) {
        self.config = config
        self.deviceDID = deviceDID
        self.hooks = hooks
        self.outboxPath = outboxPath
        do { topics = try MQTTTopics(prefix: config.topicPrefix, deviceDID: deviceDID) } catch { throw BridgeStartError(message: error.description) }
        var options = MosquittoOptions()
        options.clientID = config.clientID
        options.protocolVersion = config.protocolVersion == "5" ? .v5 : .v311
        options.username = config.username
        options.password = config.password
        options.keepaliveSeconds = Int32(config.keepaliveSeconds)
        options.maxInflight = Int32(config.maxInflight)
        options.tcpNoDelay = true
        if config.broker.tls {
            options.tls = MosquittoOptions.TLS(
                caFile: config.caFile, caPath: config.caFile == nil ? "/etc/ssl/certs" : nil, certFile: config.certFile,
                keyFile: config.keyFile, insecure: config.tlsInsecure)
        }
        let topics = self.topics
        options.will = MosquittoOptions.Will(topic: topics.status, payload: Self.statusPayload("offline", did: deviceDID), qos: 1, retain: true)
        let sink = self.sink
        do { client = try MosquittoClient(options: options) { sink.deliver($0) } } catch { throw BridgeStartError(message: "mqtt client: \(error)") }
        shared = Mutex(Shared(link: BridgeLink(nowMs: wallClockMs())))
    }

    static func statusPayload(_ state: String, did: String) -> [UInt8] {
        JSONWriter.compactBytes(.object(JSONObject([("state", .string(state)), ("did", .string(did)), ("atMs", .number(JSONNumber(wallClockMs())))])))
    }

    // MARK: Life

    /// Opens the outbox, starts the outbox thread and the network loop. Errors: the outbox cannot be opened, or a
    /// thread cannot be started.
    public func start() throws(BridgeStartError) {
        let outbox: Outbox
        do {
            outbox = try Outbox(path: outboxPath, maxMessages: config.outboxMaxMessages, maxBytes: config.outboxMaxBytes, policy: config.outboxFull)
        } catch { throw BridgeStartError(message: error.description) }
        let box = OutboxBox(outbox)
        shared.withLock { $0.stats = outbox.stats }
        guard worker.start({ [self] in self.runOutbox(box.outbox) }) else { throw BridgeStartError(message: "cannot start the outbox thread") }
        sink.target.withLock { $0 = self }
        let backoff = ReconnectBackoff(minimumMs: config.reconnectMinMs, maximumMs: config.reconnectMaxMs)
        do {
            try client.start(host: config.broker.host, port: config.broker.port) { attempt in .milliseconds(backoff.delayMs(attempt: attempt)) }
        } catch { throw BridgeStartError(message: "mqtt network thread: \(error)") }
    }

    /// Says `offline` (a clean DISCONNECT suppresses the will), disconnects, and commits what is pending.
    public func stop() async {
        if shared.withLock({ $0.online }) {
            _ = try? client.publish(topic: topics.status, payload: Self.statusPayload("offline", did: deviceDID), qos: 1, retain: true)
            try? await Task.sleep(for: .milliseconds(100))
        }
        client.stop()
        shared.withLock { $0.stopping = true }
        worker.signal()
        worker.join()
        sink.target.withLock { $0 = nil }  // breaks the bridge -> client -> handler -> bridge cycle
    }

    // MARK: Input

    /// Queues an event for the outbox; never blocks. It is stored by the next commit (milliseconds away).
    public func enqueue(plugin: String, event: String, params: JSONObject, atMs: Int64, source: EventSource? = nil) {
        let payload = JSONWriter.compactBytes(
            .object(JSONObject([
                ("plugin", .string(plugin)), ("event", .string(event)), ("atMs", .number(JSONNumber(atMs))), ("params", .object(params)),
            ])))
        enqueue(OutboxEntry(topic: topics.event(plugin: plugin, name: event), payload: payload, createdMs: wallClockMs(), source: source))
    }

    public func enqueue(_ entry: OutboxEntry) {
        shared.withLock { $0.entries.append(entry) }
        worker.signal()
    }

    /// On the network thread: only bookkeeping and wake-ups; commands go to a task.
    fileprivate func handle(_ event: MosquittoEvent) {
        switch event {
        case .published(let mid):
            shared.withLock { $0.acks.append(mid) }
            worker.signal()
        case .message(let m):
            Task { await self.command(m) }
        case .subscribed:
            break
        case .connected, .connectFailed, .disconnected:
            let (action, error) = shared.withLock { s -> (BridgeLink.Action?, String?) in
                let a = s.link.handle(event, nowMs: wallClockMs())
                s.online = s.link.isOnline
                if a == .cameOnline { s.announce = true }
                return (a, s.link.lastError)
            }
            switch action {
            case .cameOnline?: hooks.log("mqtt: connected to \(config.broker)")
            case .wentOffline?: hooks.log("mqtt: offline: \(error ?? "disconnected"); outbox keeps everything")
            case nil:
                if case .connectFailed(_, let attempt) = event, attempt == 1 || attempt % 20 == 0 {
                    hooks.log("mqtt: cannot reach \(config.broker): \(error ?? "?")")
                }
            }
            worker.signal()
        }
    }

    // MARK: The outbox thread

    private func runOutbox(_ outbox: Outbox) {
        var inflight: [Int32: Int64] = [:]
        var unsent: [OutboxMessage] = []
        var lastSource: EventSource?
        // Since when (monotonic ms) delivered messages wait to be removed from the outbox.
        var deliveredSinceMs: Int64 = 0
        // Messages wait in the outbox beyond the window: each PUBACK makes room for one, so acks commit at once.
        var backlog = false
        while true {
            let removalDue = Self.removalDelayMs - (monotonicMs() - deliveredSinceMs)
            let signalled = worker.wait(timeoutMs: outbox.unremovedDeliveries == 0 ? 500 : Int(max(1, removalDue)))
            // The events of one sensor poll (or any burst) arrive microseconds apart: let them land in one commit.
            if signalled && shared.withLock({ !$0.entries.isEmpty && !$0.stopping }) { usleep(Self.burstMicros) }
            worker.drain()
            let (entries, acks, announce, online, stopping) = shared.withLock { s in
                defer {
                    s.entries.removeAll(keepingCapacity: true)
                    s.acks.removeAll(keepingCapacity: true)
                    s.announce = false
                }
                return (s.entries, s.acks, s.announce, s.online, s.stopping)
            }
            if announce {
                _ = try? client.subscribe(topics.commandFilter, qos: 1)
                _ = try? client.publish(topic: topics.status, payload: Self.statusPayload("online", did: deviceDID), qos: 1, retain: true)
            }
            let acked = acks.compactMap { inflight.removeValue(forKey: $0) }
            if outbox.unremovedDeliveries == 0 && !acked.isEmpty { deliveredSinceMs = monotonicMs() }
            outbox.acknowledge(acked)
            // No transaction without something to store, take or send. Removing delivered messages alone waits (up to
            // `removalDelayMs`) for the next commit to take it along: a transaction per PUBACK, and one per idle
            // wake-up for the counters, rewrote the same pages again and again (SD card wear). A message removed late
            // is sent again only if the plugin dies meanwhile (QoS 1 allows that; it is counted as a duplicate).
            // (A backlog is urgent only when PUBACKs made room for more of it.)
            let room = online && !stopping ? max(0, config.window - inflight.count - unsent.count) : 0
            let nothingUrgent = entries.isEmpty && !announce && !stopping && !(backlog && room > 0) && unsent.isEmpty
            if nothingUrgent && (outbox.unremovedDeliveries == 0 || monotonicMs() - deliveredSinceMs < Self.removalDelayMs) {
                if !acked.isEmpty { publishStats(outbox, inFlight: inflight.count + unsent.count) }
                continue
            }
            // Messages taken earlier that the client refused go first, then new ones, in sequence order.
            let commit: OutboxCommit
            do { commit = try outbox.commit(entries: entries, delivered: [], take: room) } catch {
                hooks.log("mqtt: \(error)")
                shared.withLock { s in
                    s.failure = error.description
                    s.entries.insert(contentsOf: entries, at: 0)  // (the PUBACKs stay acknowledged in the outbox)
                }
                if stopping { return }
                usleep(200_000)
                continue
            }
            if commit.dropped > 0 { hooks.log("mqtt: outbox full: dropped \(commit.dropped) oldest message(s) (\(config.outboxFull.rawValue))") }
            unsent.append(contentsOf: commit.taken)
            if online && !stopping {
                var sentCount = 0
                for m in unsent {
                    do {
                        let mid = try client.publish(topic: m.topic, payload: m.payload, qos: 1, retain: m.retain)
                        inflight[mid] = m.seq
                        sentCount += 1
                    } catch {
                        shared.withLock { $0.publishErrors += 1 }
                        break
                    }
                }
                unsent.removeFirst(sentCount)
            }
            if let s = commit.storedSource, s != lastSource {
                lastSource = s
                hooks.stored(s)
            }
            publishStats(outbox, inFlight: inflight.count + unsent.count)
            if stopping { return }
            // More may be waiting in the outbox than one window: go round again without waiting.
            backlog = online && outbox.waiting > 0
            if backlog && commit.taken.count == room && room > 0 { worker.signal() }
        }
    }

    /// What `status` shows of the outbox (`inFlight`: handed to the client or refused by it, not yet PUBACKed).
    private func publishStats(_ outbox: Outbox, inFlight: Int) {
        var stats = outbox.stats
        stats.inFlight = inFlight
        shared.withLock { $0.stats = stats }
    }

    /// The longest a delivered message waits to be removed from the outbox.
    static let removalDelayMs: Int64 = 1000
    /// How long a wake-up waits for the rest of a burst of events before committing.
    static let burstMicros: UInt32 = 2000

    // MARK: Commands

    private func command(_ m: MosquittoMessage) async {
        guard config.commands, let method = topics.commandMethod(m.topic) else { return }
        let envelope: CommandEnvelope
        do { envelope = try CommandEnvelope(payload: m.payload, topicMethod: method, maxBytes: config.maxCommandBytes) } catch {
            shared.withLock { s in
                s.commandsRejected += 1
                s.lastRejection = "\(m.topic): \(error)"
            }
            hooks.log("mqtt: command on \(m.topic) rejected: \(error)")
            if let id = error.replyID { reply(id: id, CommandEnvelope.reply(id: id, code: error.kind.code, message: error.message)) }
            return
        }
        let payload: [UInt8]
        switch await hooks.relay(envelope) {
        case .success(let result):
            shared.withLock { $0.commandsRelayed += 1 }
            payload = CommandEnvelope.reply(id: envelope.id, result: result)
        case .failure(let f):
            shared.withLock { $0.commandsRefused += 1 }
            payload = CommandEnvelope.reply(id: envelope.id, code: f.code, message: f.message)
        }
        reply(id: envelope.id, payload)
    }

    /// Replies go through the durable outbox like events: a command's effect has happened, so its answer must reach
    /// the requester even when the broker is away or this plugin is killed before the broker has it.
    private func reply(id: String, _ payload: [UInt8]) {
        enqueue(OutboxEntry(topic: topics.reply(id), payload: payload, createdMs: wallClockMs()))
    }

    // MARK: Status

    /// What `elactl mqtt status` shows.
    public var status: JSONValue {
        let s = shared.withLock { $0 }
        let now = wallClockMs()
        let st = s.stats
        var outbox = JSONObject([
            ("depth", .number(JSONNumber(st?.depth ?? 0))), ("bytes", .number(JSONNumber(st?.bytes ?? 0))),
            ("inFlight", .number(JSONNumber(st?.inFlight ?? 0))),
            ("oldestPendingAgeMs", st?.oldestCreatedMs.map { .number(JSONNumber(max(0, now - $0))) } ?? .null),
            ("maxMessages", .number(JSONNumber(config.outboxMaxMessages))), ("maxBytes", .number(JSONNumber(config.outboxMaxBytes))),
            ("full", .string(config.outboxFull.rawValue)), ("path", .string(outboxPath)),
            ("transactions", .number(JSONNumber(st?.transactions ?? 0))),
        ])
        if let f = s.failure { outbox["failure"] = .string(f) }
        let c = st?.counters ?? OutboxCounters()
        return .object(
            JSONObject([
                ("state", .string(s.link.state.rawValue)), ("sinceMs", .number(JSONNumber(s.link.sinceMs))),
                ("broker", .string(config.broker.description)), ("protocol", .string(config.protocolVersion)),
                ("lastError", s.link.lastError.map(JSONValue.string) ?? .null),
                ("connects", .number(JSONNumber(s.link.connects))), ("losses", .number(JSONNumber(s.link.losses))),
                ("outbox", .object(outbox)),
                ("accepted", .number(JSONNumber(c.accepted))), ("sent", .number(JSONNumber(c.sent))),
                ("dropped", .number(JSONNumber(c.dropped))), ("duplicates", .number(JSONNumber(c.duplicates))),
                ("redeliveriesSkipped", .number(JSONNumber(c.redeliveriesSkipped))),
                ("publishErrors", .number(JSONNumber(s.publishErrors))),
                (
                    "commands",
                    .object(JSONObject([
                        ("relayed", .number(JSONNumber(s.commandsRelayed))), ("refused", .number(JSONNumber(s.commandsRefused))),
                        ("rejected", .number(JSONNumber(s.commandsRejected))), ("lastRejection", s.lastRejection.map(JSONValue.string) ?? .null),
                    ]))
                ),
                (
                    "topics",
                    .object(JSONObject([
                        ("status", .string(topics.status)), ("events", .string(topics.base + "/events/#")),
                        ("commands", .string(topics.commandFilter)), ("replies", .string(topics.base + "/reply/<id>")),
                    ]))
                ),
            ]))
    }

    /// The outbox counters and depth as of the last commit.
    public var outboxStats: OutboxStats? { shared.withLock { $0.stats } }
}

/// Moves the (non-Sendable) outbox onto its thread once.
final class OutboxBox: @unchecked Sendable {  // handed to exactly one thread
    let outbox: Outbox
    init(_ outbox: Outbox) { self.outbox = outbox }
}

/// The bridge could not start: the outbox, the client or a thread.
public struct BridgeStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Holds the bridge for the client's handler (set by `start`, cleared by `stop`).
final class EventSink: Sendable {
    let target = Mutex<MQTTBridge?>(nil)
    func deliver(_ event: MosquittoEvent) { target.withLock { $0 }?.handle(event) }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaGate
import ElaJSON
import ElaPluginHost
import ElaPluginProtocol
import ElaStorage
import Synchronization

/// Methods the host provides to plugins (docs/plugin-protocol.md, "Host methods"):
/// - `ela.device`: the device DID (for topic names and the like);
/// - `ela.subscribe`: deliver events to the plugin as `ela.event` notifications, allowed only for events whose
///   capability the manifest `consumes`; delivery survives the plugin's restarts (unacknowledged events are resent);
/// - `ela.ack`: the plugin has stored events up to a sequence number; the host forgets them;
/// - `ela.call`: relay a signed request text, gated exactly like the control socket's `call` with `request`
///   (the audit row carries the signer's DID); the manifest must consume `ela.call`.
/// Anything else goes to the plugin-to-plugin handler (gated against `consumes`).
final class PluginServices: Sendable {
    let deviceDID: String
    let late: LateBinding
    let fallback: PluginRequestHandler
    let carrier: CarrierService?
    private let relays = Mutex<[String: EventRelay]>([:])

    init(deviceDID: String, late: LateBinding, carrier: CarrierService? = nil, fallback: @escaping PluginRequestHandler) {
        self.deviceDID = deviceDID
        self.carrier = carrier
        self.late = late
        self.fallback = fallback
    }

    /// The requests that are a plugin's transport rather than calls through the gate: the carrier's reports (each
    /// session call among them meets the carrier service's own limits), event acknowledgements, the device DID.
    /// The supervisor's rate limit meters every other request, each a gate decision and an audit row.
    static func isTransport(plugin: String, method: String) -> Bool {
        method == "ela.ack" || method == "ela.device" || (plugin == "carrier" && method.hasPrefix("carrier."))
    }

    var handler: PluginRequestHandler {
        { [self] plugin, method, params in await self.handle(plugin, method, params) }
    }

    func handle(_ plugin: String, _ method: String, _ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        // The carrier's reports (friend requests, links, messages) go to the carrier service, from it alone.
        if plugin == "carrier", method.hasPrefix("carrier."), let carrier { return await carrier.handle(method, params) }
        switch method {
        case "ela.device": return .success(.object(["did": .string(deviceDID)]))
        case "ela.subscribe": return subscribe(plugin, params)
        case "ela.ack": return ack(plugin, params)
        case "ela.call": return await relayCall(plugin, params)
        default: return await fallback(plugin, method, params)
        }
    }

    private func consumes(_ plugin: String, _ host: PluginHost) -> [CapabilityPattern] {
        (host.supervisors[plugin]?.descriptor.manifest.consumes ?? []).compactMap { try? CapabilityPattern($0) }
    }

    // MARK: events

    func subscribe(_ plugin: String, _ params: JSONObject) -> Result<JSONValue, PluginProtocolError> {
        guard let gate = late.gate, let host = late.plugins, let supervisor = host.supervisors[plugin] else {
            return .failure(PluginProtocolError(.notReady, "the agent is starting"))
        }
        guard let requested = params["events"]?.arrayValue?.compactMap(\.stringValue), !requested.isEmpty else {
            return .failure(PluginProtocolError(.invalidParams, "ela.subscribe: \"events\" must list event names or patterns (sensors.*)"))
        }
        let capacity = max(1, min(params["capacity"]?.numberValue?.int64Value.map { Int(clamping: $0) } ?? 10000, 100_000))
        let consumes = consumes(plugin, host)
        var allowed: [String] = []
        var denied: [JSONValue] = []
        for pattern in requested {
            let names = host.eventNames.filter { EventBus.pattern(pattern, matches: $0) }
            if names.isEmpty {
                denied.append(.object(["event": .string(pattern), "reason": .string("no plugin declares such an event")]))
            }
            for name in names where !allowed.contains(name) {
                let d = gate.authorize(
                    .plugin(name: plugin, method: name, params: JSONObject(), consumes: consumes), nowMillis: wallMillis(), action: .subscribe)
                if d.allowed {
                    allowed.append(name)
                } else {
                    denied.append(.object(["event": .string(name), "reason": .string(d.reason)]))
                }
            }
        }
        guard !allowed.isEmpty else {
            return .failure(PluginProtocolError(.pluginError, "denied: none of \(requested) may be subscribed (manifest consumes: \(consumes.map(\.description)))"))
        }
        allowed.sort()
        let relay = relays.withLock { table -> EventRelay in
            if let r = table[plugin], r.events == allowed { return r }
            table[plugin]?.cancel()
            let r = EventRelay(plugin: plugin, events: allowed, capacity: capacity, bus: host.events, supervisor: supervisor)
            table[plugin] = r
            return r
        }
        relay.attach()
        return .success(
            .object([
                "epoch": .string(relay.epoch), "events": .array(allowed.map(JSONValue.string)), "denied": .array(denied),
                "acknowledged": .number(JSONNumber(relay.acknowledged)),
            ]))
    }

    func ack(_ plugin: String, _ params: JSONObject) -> Result<JSONValue, PluginProtocolError> {
        guard let seq = params["seq"]?.numberValue?.int64Value, let epoch = params["epoch"]?.stringValue else {
            return .failure(PluginProtocolError(.invalidParams, "ela.ack: \"epoch\" (string) and \"seq\" (integer) are required"))
        }
        guard let relay = relays.withLock({ $0[plugin] }), relay.epoch == epoch else {
            return .success(.object(["current": .bool(false)]))  // an older delivery stream: nothing to forget
        }
        relay.ack(seq)
        return .success(.object(["current": .bool(true), "pending": .number(JSONNumber(relay.pending))]))
    }

    // MARK: signed calls

    func relayCall(_ plugin: String, _ params: JSONObject) async -> Result<JSONValue, PluginProtocolError> {
        guard let gate = late.gate, let host = late.plugins else { return .failure(PluginProtocolError(.notReady, "the agent is starting")) }
        // Refused before any signed request is judged, but a decision all the same: audited under the plugin.
        func refused(_ reason: String, _ kind: PluginProtocolError.Kind) -> Result<JSONValue, PluginProtocolError> {
            let seq = try? gate.audit.append(
                AuditEntry(
                    at: wallMillis(), subject: "plugin:\(plugin)", caller: .plugin, method: "ela.call", capability: "ela.call",
                    decision: .deny, reason: reason, request: Gate.clipped(JSONWriter.compact(.object(params))))
            ).seq
            return .failure(PluginProtocolError(kind, "denied: \(reason) (audit #\(seq.map(String.init) ?? "-"))"))
        }
        guard consumes(plugin, host).contains(where: { $0.matches("ela.call") }) else {
            return refused("plugin \(plugin) does not consume ela.call in its manifest", .pluginError)
        }
        // Not judged as an envelope: an object form of a valid one would use up its nonce for a call never made.
        guard let text = params["request"]?.stringValue else {
            return refused("ela.call: \"request\" must be the signed request's JSON text", .invalidParams)
        }
        let (decision, request) = gate.authorize(signedText: text, nowMillis: wallMillis())
        guard decision.allowed, let request else {
            return .failure(PluginProtocolError(.pluginError, "denied: \(decision.reason) (audit #\(decision.auditSeq.map(String.init) ?? "-"))"))
        }
        guard let route = host.route(request.method) else {
            return .failure(PluginProtocolError(.methodNotFound, "no plugin serves \(request.method)"))
        }
        switch await route.supervisor.call(request.method, request.params) {
        case .success(let v): return .success(v)
        case .failure(.remote(let e)): return .failure(e)
        case .failure(let e): return .failure(PluginProtocolError(.pluginError, e.description))
        }
    }
}

/// One plugin's event delivery: an EventBus subscription (bounded, drops counted) feeding `ela.event` notifications
/// numbered within an epoch. Up to `window` events stay unacknowledged; they are resent when the plugin comes back
/// (a restart re-subscribes), so events emitted while it was down or in flight when it died are not lost.
final class EventRelay: Sendable {
    let plugin: String
    let events: [String]
    let epoch: String
    let window = 4096
    private let subscription: EventBus.Subscription
    private let supervisor: PluginSupervisor
    private struct State {
        var nextSeq: Int64 = 1
        var unacked: [(seq: Int64, event: PluginEvent)] = []
        var head = 0
        var acknowledged: Int64 = 0
        var connection: PluginConnection?
        var roomWaiter: CheckedContinuation<Void, Never>?
        var cancelled = false
        var attachTask: Task<Void, Never>?
    }
    private let state = Mutex(State())
    private let pump = Mutex<Task<Void, Never>?>(nil)

    init(plugin: String, events: [String], capacity: Int, bus: EventBus, supervisor: PluginSupervisor) {
        self.plugin = plugin
        self.events = events
        self.supervisor = supervisor
        var r = SystemRandomNumberGenerator()
        epoch = String(r.next() as UInt64, radix: 16)
        subscription = bus.subscribe(patterns: events, capacity: capacity)
        pump.withLock { $0 = Task { [self] in await self.run() } }
    }

    var acknowledged: Int64 { state.withLock { $0.acknowledged } }
    var pending: Int { state.withLock { $0.unacked.count - $0.head } }

    /// The plugin (re)subscribed: once its connection is live, resend everything unacknowledged to it, in order.
    func attach() {
        // Waits as long as a plugin may take to finish its handshake (and a little more), since it may subscribe from
        // its start handler; a later attach or the relay's end cancels the wait.
        let patience = Int((supervisor.settings.handshakeTimeout + 5) * 100)
        let task = Task { [self] in
            for _ in 0..<patience {
                if let c = supervisor.connection, !c.isClosed {
                    state.withLock { s in
                        guard s.connection !== c else { return }
                        s.connection = c
                        for (seq, e) in s.unacked[s.head...] { c.send(notification(seq, e)) }
                    }
                    return
                }
                do { try await Task.sleep(for: .milliseconds(10)) } catch { return }
            }
        }
        state.withLock { s in
            s.attachTask?.cancel()
            s.attachTask = task
        }
    }

    func ack(_ seq: Int64) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard seq > s.acknowledged else { return nil }
            s.acknowledged = seq
            while s.head < s.unacked.count && s.unacked[s.head].seq <= seq { s.head += 1 }
            if s.head > 1024 && s.head * 2 > s.unacked.count {
                s.unacked.removeFirst(s.head)
                s.head = 0
            }
            defer { s.roomWaiter = nil }
            return s.unacked.count - s.head < window ? s.roomWaiter : nil
        }
        waiter?.resume()
    }

    func cancel() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.cancelled = true
            s.attachTask?.cancel()
            defer { s.roomWaiter = nil }
            return s.roomWaiter
        }
        waiter?.resume()
        subscription.cancel()
        pump.withLock { $0?.cancel() }
    }

    private func notification(_ seq: Int64, _ e: PluginEvent) -> PluginMessage {
        .notification(
            method: "ela.event",
            params: [
                "epoch": .string(epoch), "seq": .number(JSONNumber(seq)), "plugin": .string(e.plugin), "event": .string(e.name),
                "params": .object(e.params), "atMs": .number(JSONNumber(e.receivedAtMs)),
            ])
    }

    private func run() async {
        while true {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.cancelled || s.unacked.count - s.head < window { return true }
                    s.roomWaiter = c
                    return false
                }
                if ready { c.resume() }
            }
            guard let event = await subscription.next() else { return }
            let stop = state.withLock { s -> Bool in
                if s.cancelled { return true }
                let seq = s.nextSeq
                s.nextSeq += 1
                s.unacked.append((seq, event))
                if let c = s.connection, !c.isClosed { c.send(notification(seq, event)) }
                return false
            }
            if stop { return }
        }
    }
}

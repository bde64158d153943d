#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaControl
import ElaControlServer
import ElaJSON
import ElaPluginHost
import ElaGate
import ElaSandbox
import ElaSpelling
import Synchronization

/// Event subscriptions held for control-socket clients (`elactl events`), polled with `events.next`, each with the
/// gate decision that allowed it. A subscription nobody polls for a minute is dropped.
final class ControlSubscriptions: Sendable {
    struct Entry {
        var subscription: EventBus.Subscription
        var decision: GateDecision
        var lastPoll: Double
    }
    private let table = Mutex<[Int: Entry]>([:])
    /// Sweeps idle subscriptions every 30 s, so one a client abandoned stops queueing events even if nobody
    /// subscribes again.
    private let sweeper = Mutex<Task<Void, Never>?>(nil)

    init() {
        let task = Task { [weak self] in
            while true {
                do { try await Task.sleep(for: .seconds(30)) } catch { return }
                guard let self else { return }
                self.sweep()
            }
        }
        sweeper.withLock { $0 = task }
    }

    deinit { sweeper.withLock { $0?.cancel() } }

    func add(_ s: EventBus.Subscription, allowedBy decision: GateDecision) {
        table.withLock { $0[s.id] = Entry(subscription: s, decision: decision, lastPoll: monotonicNow()) }
        sweep()
    }

    func get(_ id: Int) -> Entry? {
        table.withLock { t in
            t[id]?.lastPoll = monotonicNow()
            return t[id]
        }
    }

    func remove(_ id: Int) -> Bool {
        let s = table.withLock { $0.removeValue(forKey: id) }
        s?.subscription.cancel()
        return s != nil
    }

    private func sweep() {
        let now = monotonicNow()
        let stale = table.withLock { t in
            let old = t.filter { now - $0.value.lastPoll > 60 }
            for k in old.keys { t[k] = nil }
            return old.values.map(\.subscription)
        }
        stale.forEach { $0.cancel() }
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension ControlContext {
    /// For a method or event name no plugin declares: ` (did you mean 'gpio.read'?)` when one is close, else the
    /// names there are (`kind`: "methods", "events").
    static func unknownNameHint(_ name: String, known: [String], kind: String) -> String {
        known.isEmpty ? " (no enabled plugin declares \(kind))" : " (\(Spelling.hint(for: name, among: known, kind: kind)))"
    }

    var pluginMethods: [String: ControlHandler.Method] {
        let ctx = self
        return [
            "plugin.list": { _ in await ctx.pluginList() },
            "plugin.info": { params throws(ControlError) in try await ctx.pluginInfo(params) },
            "plugin.start": { params throws(ControlError) in try await ctx.pluginControl(params, .start) },
            "plugin.stop": { params throws(ControlError) in try await ctx.pluginControl(params, .stop) },
            "plugin.restart": { params throws(ControlError) in try await ctx.pluginControl(params, .restart) },
            "plugin.logs": { params throws(ControlError) in try ctx.pluginLogs(params) },
            "events.list": { _ in ctx.eventList() },
            "events.subscribe": { params throws(ControlError) in try ctx.subscribe(params) },
            "events.next": { params throws(ControlError) in try await ctx.nextEvents(params) },
            "events.unsubscribe": { params throws(ControlError) in try ctx.unsubscribe(params) },
        ]
    }

    enum PluginAction { case start, stop, restart }

    func supervisor(_ params: JSONObject) throws(ControlError) -> PluginSupervisor {
        guard let name = params["name"]?.stringValue else {
            throw ControlError(code: ControlError.invalidParams, message: "params.name must be a plugin name")
        }
        guard let s = plugins.supervisors[name] else {
            let known = plugins.supervisors.keys.sorted().joined(separator: ", ")
            throw ControlError(code: ControlError.notFound, message: "no plugin '\(name)' (known: \(known.isEmpty ? "none" : known))")
        }
        return s
    }

    func pluginList() async -> JSONValue {
        let statuses = await plugins.statuses()
        return .object([
            "plugins": .array(statuses.map { describe($0, detailed: false) }),
            "problems": .array(plugins.problems.map { .object(["directory": .string($0.directory), "message": .string($0.message)]) }),
            "enabled": .array(plugins.enabled.map(JSONValue.string)),
        ])
    }

    func pluginInfo(_ params: JSONObject) async throws(ControlError) -> JSONValue {
        let s = try supervisor(params)
        var o = describe(await s.status(), detailed: true).objectValue ?? JSONObject()
        o["logs"] = .array(s.logs(limit: 20).map { .object(["atMs": .number(JSONNumber($0.atMs)), "text": .string($0.text)]) })
        return .object(o)
    }

    func pluginControl(_ params: JSONObject, _ action: PluginAction) async throws(ControlError) -> JSONValue {
        let s = try supervisor(params)
        // Who stopped the GPIO plugin, and when, is the audit log's to say; an action it cannot record is not taken.
        let name = s.descriptor.manifest.name
        let (gate, uid, now) = (gate, adminUID, wallSeconds())
        let audited: String? = await offLoop {
            do {
                try gate.recordAdminAction(
                    method: "plugin.\(action)", uid: uid, now: now, change: { _ in },
                    record: { _ in (["name": .string(name)], "plugin \(name): \(action)") })
                return nil
            } catch { return "\(error)" }
        }
        if let audited { throw ControlError(code: ControlError.internalError, message: "cannot audit the plugin \(action): \(audited)") }
        switch action {
        case .start: await s.start()
        case .stop: await s.stop()
        case .restart: await s.restart()
        }
        // Give a start a moment to reach `running` (or fail) so the answer says something useful.
        if action != .stop {
            for _ in 0..<2500 {
                let st = await s.status().state
                if st == .running || st == .failed || st == .backoff { break }
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        return describe(await s.status(), detailed: false)
    }

    func pluginLogs(_ params: JSONObject) throws(ControlError) -> JSONValue {
        let s = try supervisor(params)
        let limit = params["limit"]?.numberValue?.int64Value.map { Int(clamping: $0) } ?? 100
        return .array(s.logs(limit: max(1, min(limit, 1000))).map { .object(["atMs": .number(JSONNumber($0.atMs)), "text": .string($0.text)]) })
    }

    func describe(_ s: PluginStatus, detailed: Bool) -> JSONValue {
        var o: JSONObject = [
            "name": .string(s.name), "version": .string(s.version), "state": .string(s.state.rawValue),
            "pid": s.pid.map { .number(JSONNumber(Int($0))) } ?? .null, "uid": s.uid.map { .number(JSONNumber($0)) } ?? .null,
            "sinceMs": .number(JSONNumber(s.sinceMs)), "restarts": .number(JSONNumber(s.restarts)),
            "lastExit": s.lastExit.map { .number(JSONNumber(Int($0))) } ?? .null,
            "lastCause": s.lastCause.map(JSONValue.string) ?? .null, "failure": s.failure.map(JSONValue.string) ?? .null,
            "sandboxed": .bool(s.sandboxed),
            "sandbox": .string(s.sandboxed ? (s.sandbox?.summary ?? "not reported yet") : "OFF: running unconfined"),
            "warnings": .array(sandboxWarnings(s).map(JSONValue.string)),
            "rssKB": s.rssKB.map { .number(JSONNumber($0)) } ?? .null, "calls": .number(JSONNumber(s.calls)),
            "eventsForwarded": .number(JSONNumber(s.eventsForwarded)), "eventsDropped": .number(JSONNumber(s.eventsDropped)),
            "pluginDroppedEvents": .number(JSONNumber(s.pluginDroppedEvents)), "violations": .number(JSONNumber(s.violations)),
            "requestsRefused": .number(JSONNumber(s.requestsRefused)),
        ]
        if detailed {
            let m = s.descriptor.manifest
            o["executable"] = .string(s.descriptor.executable)
            o["directory"] = .string(s.descriptor.directory)
            o["stateDirectory"] = .string(s.stateDirectory)
            o["description"] = .string(m.description)
            o["methods"] = .array(m.methods.map { .object(["name": .string($0.name), "capability": .string($0.capability)]) })
            o["events"] = .array(m.events.map { .object(["name": .string($0.name), "capability": .string($0.capability)]) })
            o["consumes"] = .array(m.consumes.map(JSONValue.string))
            o["needs"] = .object([
                "devices": .array(m.sandbox.devices.map(JSONValue.string)), "network": .bool(m.sandbox.network),
                "stateDir": .bool(m.sandbox.stateDirectory), "memoryMB": .number(JSONNumber(m.sandbox.memoryMB)),
                "pids": .number(JSONNumber(m.sandbox.pids)),
            ])
            o["layers"] = .array(
                (s.sandbox?.layers ?? []).map {
                    .object(["layer": .string($0.name), "state": .string("\($0.state)"), "detail": .string($0.detail)])
                })
            o["stderrSuppressed"] = .number(JSONNumber(s.stderrSuppressed))
        }
        return .object(o)
    }

    func sandboxWarnings(_ s: PluginStatus) -> [String] {
        guard s.sandboxed else { return ["sandbox disabled: the plugin runs with the agent's privileges"] }
        return (s.sandbox?.warnings ?? []).map { "\($0.name) \($0.state): \($0.detail)" }
    }

    func eventList() -> JSONValue {
        let st = plugins.events.stats
        return .object([
            "events": .array(plugins.eventNames.map { .object(["name": .string($0), "capability": .string(plugins.capability(ofEvent: $0) ?? "")]) }),
            "published": .number(JSONNumber(st.published)), "dropped": .number(JSONNumber(st.dropped)),
            "unheard": .number(JSONNumber(st.unheard)), "subscribers": .number(JSONNumber(st.subscribers)),
            "subscriptions": .array(
                plugins.events.subscriptions.map {
                    .object([
                        "id": .number(JSONNumber($0.id)), "patterns": .array($0.patterns.map(JSONValue.string)),
                        "queued": .number(JSONNumber($0.queued)), "delivered": .number(JSONNumber($0.delivered)),
                        "dropped": .number(JSONNumber($0.dropped)), "waiting": .number(JSONNumber($0.waiting)),
                    ])
                }),
        ])
    }

    /// A local admin subscribes to patterns (audited); a signed caller sends `{"request": <signed request>}` whose
    /// method is the event name and is gated like a call: it needs the event's capability (e.g. `sensors.subscribe`).
    func subscribe(_ params: JSONObject) throws(ControlError) -> JSONValue {
        var patterns: [String]
        let allowedBy: GateDecision
        if let signed = params["request"] {
            guard let text = signed.stringValue else {
                throw ControlError(code: ControlError.invalidParams, message: "params.request must be the signed request's JSON text")
            }
            let (decision, request) = gate.authorize(signedText: text, nowMillis: wallMillis(), action: .subscribe)
            guard decision.allowed, let event = request?.method else {
                // The gate allows only events some manifest declares; for any other, say which there are.
                let hint = request.map { decision.capability == nil ? Self.unknownNameHint($0.method, known: plugins.eventNames, kind: "events") : "" } ?? ""
                throw ControlError(
                    code: ControlError.denied, message: "denied: \(decision.reason)\(hint) (audit #\(decision.auditSeq.map(String.init) ?? "-"))")
            }
            allowedBy = decision
            patterns = [event]
        } else {
            patterns = try params.optionalStrings("patterns") ?? ["*"]
            guard !patterns.isEmpty, patterns.allSatisfy({ !$0.isEmpty && $0.count < 128 }) else {
                throw ControlError(code: ControlError.invalidParams, message: "params.patterns must be event names or patterns like sensors.*")
            }
            // A pattern no declared event matches (a typo, most likely) would wait for ever in silence.
            let known = plugins.eventNames
            for pattern in patterns where !known.contains(where: { EventBus.pattern(pattern, matches: $0) }) {
                let hint = Self.unknownNameHint(pattern, known: known, kind: "events")
                throw ControlError(code: ControlError.notFound, message: "no plugin declares an event matching \(pattern)\(hint)")
            }
            let decision = gate.authorize(
                .admin(method: "events.subscribe", params: ["patterns": .array(patterns.map(JSONValue.string))], uid: adminUID),
                nowMillis: wallMillis(), action: .manage)
            guard decision.allowed else { throw ControlError(code: ControlError.denied, message: "denied: \(decision.reason)") }
            allowedBy = decision
        }
        let capacity = try params.optionalInt64("capacity").map { Int(clamping: $0) } ?? 256
        let sub = plugins.events.subscribe(patterns: patterns, capacity: max(1, min(capacity, 10000)))
        subscriptions.add(sub, allowedBy: allowedBy)
        return .object(["subscription": .number(JSONNumber(sub.id)), "patterns": .array(patterns.map(JSONValue.string))])
    }

    func nextEvents(_ params: JSONObject) async throws(ControlError) -> JSONValue {
        guard let id = params["subscription"]?.numberValue?.int64Value, let entry = subscriptions.get(Int(clamping: id)) else {
            throw ControlError(code: ControlError.notFound, message: "no such subscription (subscribe first; idle ones expire after 60 s)")
        }
        let sub = entry.subscription
        // A grant revoked or expired since the subscription ends it: no event is handed out past that.
        func ended() -> ControlError? {
            guard !gate.stillAllows(entry.decision, now: Int64(time(nil))) else { return nil }
            _ = subscriptions.remove(sub.id)
            return ControlError(code: ControlError.denied, message: "subscription ended: \(entry.decision.reason) no longer allows it")
        }
        if let ended = ended() { throw ended }
        let max = Int(clamping: Swift.max(1, Swift.min(try params.optionalInt64("max") ?? 100, 1000)))
        let waitMs = Int(clamping: Swift.max(0, min(try params.optionalInt64("waitMs") ?? 1000, 30000)))
        var events = sub.drain(max: max)
        if events.isEmpty {
            // A client that hangs up (or the agent stopping) ends the wait: it would otherwise hold this task, and
            // the agent's shutdown, for up to `waitMs`.
            let hangUp = WaitInterrupt()
            await ControlPeer.whileConnected(onHangUp: { hangUp.fire() }) { await sub.waitForEvents(timeoutMillis: waitMs, interrupt: hangUp) }
            events = sub.drain(max: max)
            if !events.isEmpty, let ended = ended() { throw ended }
        }
        return .object([
            "events": .array(
                events.map {
                    .object([
                        "plugin": .string($0.plugin), "event": .string($0.name), "params": .object($0.params),
                        "receivedAtMs": .number(JSONNumber($0.receivedAtMs)),
                    ])
                }),
            "dropped": .number(JSONNumber(sub.dropped)),
        ])
    }

    func unsubscribe(_ params: JSONObject) throws(ControlError) -> JSONValue {
        guard let id = params["subscription"]?.numberValue?.int64Value, subscriptions.remove(Int(clamping: id)) else {
            throw ControlError(code: ControlError.notFound, message: "no such subscription")
        }
        return .bool(true)
    }
}

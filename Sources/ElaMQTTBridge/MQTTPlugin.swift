// The MQTT bridge plugin's definition: host events arrive as `ela.event` (after `ela.subscribe`), are stored in the
// outbox and acknowledged with `ela.ack` once durable; commands are relayed with `ela.call`; `mqtt.status` reports
// the bridge. `ela-plugin-mqtt` and the package's multi-call program both run it.
public import ElaPluginKit
import ElaJSON
import Synchronization

/// The bridge, created by `onStart`; and the newest stored host event still to acknowledge.
final class MQTTPluginRuntime: Sendable {
    let bridge = Mutex<MQTTBridge?>(nil)
    let malformedEvents = Atomic<Int>(0)
    private let ackState = Mutex<(latest: EventSource?, sending: Bool)>((nil, false))

    /// Called from the outbox thread after each commit: at most one `ela.ack` in flight, always the newest.
    func stored(_ source: EventSource, context: PluginContext) {
        let start = ackState.withLock { s -> Bool in
            s.latest = source
            if s.sending { return false }
            s.sending = true
            return true
        }
        guard start else { return }
        Task {
            var sent: EventSource?
            while true {
                let next = ackState.withLock { s -> EventSource? in
                    if s.latest == sent {
                        s.sending = false
                        return nil
                    }
                    return s.latest
                }
                guard let next else { return }
                _ = try? await context.call("ela.ack", ["epoch": .string(next.epoch), "seq": .number(JSONNumber(next.seq))])
                sent = next
            }
        }
    }
}

public enum MQTTPlugin {
    public static func definition() -> PluginDefinition {
        let runtime = MQTTPluginRuntime()
        var plugin = PluginDefinition(name: "mqtt", version: "0.1.0")

        plugin.method("mqtt.status") { _, _ in
            guard let bridge = runtime.bridge.withLock({ $0 }) else { return .object(["state": "starting"]) }
            var status = bridge.status.objectValue ?? JSONObject()
            status["malformedEvents"] = .number(JSONNumber(runtime.malformedEvents.load(ordering: .relaxed)))
            return .object(status)
        }

        // Runs on the reader thread: only queues (the outbox thread stores it within milliseconds).
        plugin.notification("ela.event") { params, _ in
            guard let bridge = runtime.bridge.withLock({ $0 }), let epoch = params["epoch"]?.stringValue,
                let seq = params["seq"]?.numberValue?.int64Value, let source = params["plugin"]?.stringValue,
                let event = params["event"]?.stringValue, let body = params["params"]?.objectValue
            else {
                runtime.malformedEvents.add(1, ordering: .relaxed)
                return
            }
            let atMs = params["atMs"]?.numberValue?.int64Value ?? 0
            bridge.enqueue(plugin: source, event: event, params: body, atMs: atMs, source: EventSource(epoch: epoch, seq: seq))
        }

        plugin.onStart = { context in
            var config: BridgeConfig
            do { config = try BridgeConfig(json: context.config) } catch { throw PluginError.invalidParams("\(error)") }
            guard let stateDirectory = context.stateDirectory else {
                throw PluginError.failed("no state directory: the manifest asks for state_dir = true; the outbox lives there")
            }
            do { try config.storeTLSMaterial(in: stateDirectory + "/tls") } catch { throw PluginError.failed("mqtt: TLS files: \(error)") }
            let device = try await context.call("ela.device")
            guard let did = device["did"]?.stringValue else { throw PluginError.failed("ela.device answered without a did") }
            let hooks = BridgeHooks(
                relay: { envelope in
                    do {
                        return .success(try await context.call("ela.call", ["request": .string(envelope.request)], timeout: .seconds(15)))
                    } catch let error as PluginError {
                        return .failure(CommandFailure(code: error.kind.code, message: error.message))
                    } catch {
                        return .failure(CommandFailure(code: -32603, message: "\(error)"))
                    }
                },
                stored: { runtime.stored($0, context: context) },
                log: { context.log($0) })
            let bridge: MQTTBridge
            do {
                bridge = try MQTTBridge(config: config, deviceDID: did, outboxPath: stateDirectory + "/outbox.db", hooks: hooks)
                try bridge.start()
            } catch { throw PluginError.failed("\(error)") }
            runtime.bridge.withLock { $0 = bridge }
            context.log("mqtt: bridging to \(config.broker) as \(bridge.topics.base); forwarding \(config.forward.joined(separator: ", "))")
            if !config.forward.isEmpty {
                do {
                    let answer = try await context.call("ela.subscribe", ["events": .array(config.forward.map(JSONValue.string))])
                    for d in answer["denied"]?.arrayValue ?? [] {
                        context.log("mqtt: not forwarding \(d["event"]?.stringValue ?? "?"): \(d["reason"]?.stringValue ?? "?")")
                    }
                } catch {
                    context.log("mqtt: cannot subscribe to \(config.forward): \(error)")
                }
            }
        }

        plugin.onStop = { _ in
            let bridge = runtime.bridge.withLock { $0 }
            await bridge?.stop()
        }
        return plugin
    }
}

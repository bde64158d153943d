public import ElaPluginKit
internal import Synchronization

/// The GPIO plugin's protocol face: method names, params and results as JSON, over a `GPIOService` built from the
/// host's configuration when the handshake arrives. `ela-plugin-gpio` is `PluginMain.run(GPIOPlugin.definition())`.
public enum GPIOPlugin {
    public static let name = "gpio"
    public static let version = "0.1.0"
    public static let edgeEvent = "gpio.edge"
    public static let methods = ["gpio.info", "gpio.read", "gpio.write", "gpio.watch", "gpio.unwatch", "gpio.release", "gpio.simulate"]

    /// The plugin; `makeBackend` picks the backend for a configuration (tests inject their own).
    public static func definition(
        makeBackend: @escaping @Sendable (GPIOConfiguration) -> any GPIOBackend = { $0.makeBackend() }
    ) -> PluginDefinition {
        let slot = ServiceSlot()
        var d = PluginDefinition(name: name, version: version)
        d.onStart = { ctx in
            let configuration: GPIOConfiguration
            do throws(GPIOError) { configuration = try GPIOConfiguration(json: ctx.config) } catch { throw PluginError.failed(error.message) }
            let backend = makeBackend(configuration)
            let service = GPIOService(
                configuration: configuration, backend: backend, onEdge: { ctx.emit(edgeEvent, edgeParams($0)) }, log: { ctx.log($0) })
            slot.set(service)
            let chips = backend.chips()
            ctx.log("gpio: \(backend.kind) backend, \(chips.count) chip(s), \(configuration.pins.count) pin(s)")
            for p in configuration.pins where !chips.contains(where: { $0.label == p.chip || $0.name == p.chip }) {
                ctx.log("gpio: pin \(p.name) names chip '\(p.chip)', which is not present")
            }
        }
        d.onStop = { _ in slot.take()?.shutdown() }

        // Line reads and writes are a mutex and an ioctl (or the simulated chip): they run on the plugin's reader
        // thread. Watches start and stop threads, so they stay on the pool.
        d.method("gpio.info", mode: .nonBlocking) { _, _ in infoJSON(try slot.get().info()) }
        d.method("gpio.read", mode: .nonBlocking) { call, _ in
            let pin = try call.string("pin")
            let lineBias = try bias(call)
            let value = try mapped { () throws(GPIOError) in try slot.get().read(pin: pin, bias: lineBias) }
            return object(("pin", .string(pin)), ("value", level(value)))
        }
        d.method("gpio.write", mode: .nonBlocking) { call, _ in
            let pin = try call.string("pin")
            let value = try requestedLevel(call)
            try mapped { () throws(GPIOError) in try slot.get().write(pin: pin, value: value) }
            return object(("pin", .string(pin)), ("value", level(value)))
        }
        d.method("gpio.watch") { call, _ in
            let pin = try call.string("pin")
            let edgeName = try call.optionalString("edge") ?? "both"
            guard let edge = GPIOEdge(rawValue: edgeName) else {
                throw PluginError.invalidParams("gpio.watch: \"edge\" must be rising, falling or both, found \"\(edgeName)\"")
            }
            let lineBias = try bias(call)
            let id = try mapped { () throws(GPIOError) in try slot.get().watch(pin: pin, edge: edge, bias: lineBias) }
            return object(("watch", .number(JSONNumber(id))), ("pin", .string(pin)), ("edge", .string(edge.rawValue)))
        }
        d.method("gpio.unwatch") { call, _ in
            let id = try call.int("watch")
            let pin = try call.string("pin")
            try mapped { () throws(GPIOError) in try slot.get().unwatch(id, pin: pin) }
            return object(("watch", .number(JSONNumber(id))), ("pin", .string(pin)))
        }
        d.method("gpio.release", mode: .nonBlocking) { call, _ in
            let pin = try call.string("pin")
            let released = try mapped { () throws(GPIOError) in try slot.get().release(pin: pin) }
            return object(("pin", .string(pin)), ("released", .bool(released)))
        }
        d.method("gpio.simulate", mode: .nonBlocking) { call, _ in
            let pin = try call.string("pin")
            let pullName = try call.string("pull")
            guard let pull = GPIOPull(rawValue: pullName) else {
                throw PluginError.invalidParams("gpio.simulate: \"pull\" must be up or down, found \"\(pullName)\"")
            }
            try mapped { () throws(GPIOError) in try slot.get().simulate(pin: pin, pull: pull) }
            return object(("pin", .string(pin)), ("pull", .string(pull.rawValue)))
        }
        d.event(edgeEvent)
        return d
    }

    // MARK: JSON

    public static func edgeParams(_ n: GPIOEdgeNotification) -> JSONObject {
        JSONObject([
            ("pin", .string(n.pin)), ("edge", .string(n.edge.rawValue)), ("value", level(n.value)),
            ("timestamp_ns", .number(JSONNumber(n.timestampNanoseconds))), ("watch", .number(JSONNumber(n.watch))),
        ])
    }

    public static func infoJSON(_ info: GPIOInfo) -> JSONValue {
        let chips = info.chips.map { c -> JSONValue in
            var o = JSONObject([("name", .string(c.name)), ("label", .string(c.label)), ("lines", .number(JSONNumber(c.lineCount)))])
            if let problem = c.problem { o["problem"] = .string(problem) }
            return .object(o)
        }
        let pins = info.pins.map { p -> JSONValue in
            var o = JSONObject([("name", .string(p.name)), ("chip", .string(p.chip)), ("line", .number(JSONNumber(p.line)))])
            o["direction"] = p.direction.map { .string($0.rawValue) } ?? .null
            o["heldBy"] = p.heldBy.map(JSONValue.string) ?? .null
            if let v = p.value { o["value"] = level(v) }
            if let problem = p.problem { o["problem"] = .string(problem) }
            return .object(o)
        }
        return object(("backend", .string(info.backend)), ("chips", .array(chips)), ("pins", .array(pins)))
    }

    private static func object(_ members: (String, JSONValue)...) -> JSONValue { .object(JSONObject(members)) }

    private static func level(_ v: GPIOLevel) -> JSONValue { .number(JSONNumber(v.rawValue)) }

    private static func requestedLevel(_ call: PluginCall) throws(PluginError) -> GPIOLevel {
        guard let raw = call.value("value") else { throw PluginError.invalidParams("gpio.write: missing \"value\" (0 or 1)") }
        // `Int(exactly:)`: on a 32-bit board `Int(n)` traps for a value past Int32.
        guard let n = raw.numberValue?.int64Value, let v = Int(exactly: n).flatMap(GPIOLevel.init(rawValue:)) else {
            let found = raw.numberValue?.text ?? raw.kindName
            throw PluginError.invalidParams("gpio.write: \"value\" must be 0 or 1, found \(found)")
        }
        return v
    }

    private static func bias(_ call: PluginCall) throws(PluginError) -> GPIOBias {
        guard let name = try call.optionalString("bias") else { return .asIs }
        guard let b = GPIOBias(rawValue: name) else {
            let valid = GPIOBias.allCases.map(\.rawValue).joined(separator: ", ")
            throw PluginError.invalidParams("\(call.method): \"bias\" must be one of \(valid), found \"\(name)\"")
        }
        return b
    }

    /// GPIO errors as the caller sees them: bad arguments are -32602, everything else -32000.
    private static func mapped<T>(_ body: () throws(GPIOError) -> T) throws(PluginError) -> T {
        do { return try body() } catch {
            throw error.kind == .invalidArgument ? PluginError.invalidParams(error.message) : PluginError.failed(error.message)
        }
    }
}

/// The service, once the handshake has built it.
private final class ServiceSlot: Sendable {
    private let service = Mutex<GPIOService?>(nil)
    func set(_ s: GPIOService) { service.withLock { $0 = s } }
    func take() -> GPIOService? { service.withLock { s in defer { s = nil }; return s } }
    func get() throws(GPIOError) -> GPIOService {
        guard let s = service.withLock({ $0 }) else { throw GPIOError(.unsupported, "the GPIO plugin has not started") }
        return s
    }
}

// The sensors plugin's definition: Linux IIO, hwmon and 1-wire sensors (or a simulated tree), read on request and
// polled on schedules, each reading emitted as a `sensors.reading` event. `ela-plugin-sensors` and the package's
// multi-call program both run it.
public import ElaPluginKit
import Synchronization

/// The runtime, created by `onStart` from the host's config (methods are served only after that).
final class SensorsRuntimeSlot: Sendable {
    let runtime = Mutex<SensorsRuntime?>(nil)

    func current() throws(PluginError) -> SensorsRuntime {
        guard let r = runtime.withLock({ $0 }) else { throw .failed("the sensors plugin has not started") }
        return r
    }
}

public enum SensorsPlugin {
    public static func definition() -> PluginDefinition {
        let slot = SensorsRuntimeSlot()
        var plugin = PluginDefinition(name: "sensors", version: "0.1.0")
        plugin.event("sensors.reading")

        plugin.method("sensors.list") { _, _ in try slot.current().listJSON() }

        plugin.method("sensors.read") { call, _ in
            let sensor = try call.optionalString("sensor")
            do {
                return try slot.current().readJSON(sensor: sensor)
            } catch let error as SensorError {
                if case .unknownSensor = error { throw PluginError.invalidParams("sensors.read: \(error)") }
                throw PluginError.failed(error.description)
            }
        }

        plugin.onStart = { context in
            let runtime = try SensorsRuntime(config: try SensorsConfig(json: context.config), stateDirectory: context.stateDirectory)
            for note in runtime.startupNotes { context.log(note) }
            slot.runtime.withLock { $0 = runtime }
            runtime.start(emit: { context.emit("sensors.reading", $0.json) }, log: { context.log($0) })
        }

        plugin.onStop = { _ in
            // Taken out first: a call arriving meanwhile is told the plugin is not running, not read from a removed tree.
            let runtime = slot.runtime.withLock { r in defer { r = nil }; return r }
            await runtime?.stop()
        }
        return plugin
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaFileSystem
import ElaJSON
import ElaPluginHost
import ElaSandbox
import ElaStorage
import Logging
import NIOCore

/// Builds the plugin host from the configuration, the board and the state database: where plugins are found,
/// the sandbox launcher, a stable uid per plugin, and each plugin's configuration derived from the board.
enum PluginSetup {
    static let installedPlugins = "/usr/lib/ela-agent/plugins"
    static let installedPrograms = "/usr/lib/ela-agent"

    static func makeHost(
        config: AgentConfig, board: BoardDescription?, store: AgentStore, logger: Logger, events: EventBus,
        eventLoop: (any EventLoop)? = nil, carrierIdentity: CarrierIdentity? = nil, requestHandler: PluginRequestHandler?
    ) -> PluginHost {
        let exeDir = executableDirectory()
        var dirs = config.pluginDirs
        if let env = getenv("ELA_PLUGINS_DIR").flatMap({ String(validatingCString: $0) }), !env.isEmpty {
            dirs += env.split(separator: ":").map(String.init)
        }
        dirs.append(installedPlugins)
        // Development build: .../<repo>/.build/<triple>/<config>/ela-agent -> .../<repo>/Plugins
        if let exeDir {
            var parts = exeDir.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count > 3 {
                parts.removeLast(3)
                dirs.append(parts.joined(separator: "/") + "/Plugins")
            }
        }
        let catalog = PluginCatalog(directories: dirs, programDirectories: [exeDir, installedPrograms].compactMap { $0 })
        let (plugins, problems) = catalog.discover()
        for p in problems { logger.warning("plugin not usable", metadata: ["problem": "\(p)"]) }

        var launcher: String? = nil
        var launcherMissing: String? = nil
        if config.pluginSandbox {
            let candidates = [exeDir.map { $0 + "/ela-sandbox" }, installedPrograms + "/ela-sandbox"].compactMap { $0 }
            launcher = candidates.first { access($0, X_OK) == 0 }
            if launcher == nil {
                // Never unconfined by accident: a packaging slip must not run every plugin as root.
                launcherMissing =
                    "the sandbox launcher was not found (looked for an executable \(candidates.joined(separator: " and "))); "
                    + "plugins stay stopped: reinstall the package, or set plugins.sandbox = false to run them unconfined"
                logger.error("ela-sandbox not found: plugins will not start", metadata: ["looked": "\(candidates)"])
            }
        } else {
            logger.warning("plugins.sandbox = false: plugins run UNCONFINED")
        }
        var readOnly: [String] = []
        if let runtime = swiftRuntimeDirectory(), !runtime.hasPrefix("/usr/") && !runtime.hasPrefix("/lib") { readOnly.append(runtime) }
        var settings = PluginHostSettings(
            launcher: launcher, stateRoot: config.pluginStateRoot, readOnlyPaths: readOnly, hostName: "ela-agent \(AgentInfo.version)")
        settings.launcherMissing = launcherMissing
        settings.eventLoop = eventLoop
        settings.pingInterval = config.pluginPingSeconds
        settings.pingTimeout = min(3, config.pluginPingSeconds)
        settings.unmeteredRequest = { PluginServices.isTransport(plugin: $0, method: $1) }
        settings.pluginRequestsPerSecond = config.pluginRequestsPerSecond
        var enabled = config.pluginsEnabled ?? board?.defaultPlugins ?? []
        if config.carrier.isEnabled && !enabled.contains("carrier") { enabled.append("carrier") }
        return PluginHost(
            plugins: plugins, problems: problems, enabled: enabled, settings: settings,
            uid: { name in
                do { return .success(try uid(for: name, store: store)) } catch {
                    logger.error("plugin not started: no uid for it", metadata: ["plugin": "\(name)", "error": "\(error)"])
                    return .failure(PluginDiscoveryProblem(directory: name, message: "no uid for it: \(error)"))
                }
            },
            config: { p in
                switch p.name {
                case "mqtt": mqttConfig(config.mqtt, logger: logger)
                case "carrier": carrierConfig(config.carrier, identity: carrierIdentity)
                default: pluginConfig(for: p, board: board)
                }
            },
            // The GPIO plugin may have the board's gpiochips; any plugin the board's bus nodes (I2C, SPI, UART) its
            // manifest asks for; nothing else, whatever a manifest asks.
            devices: { p in p.name == "gpio" ? (board?.gpioDevices ?? []) : (board.map { ($0.i2c + $0.spi + $0.uart).map(\.device) } ?? []) },
            events: events,
            logger: logger, requestHandler: requestHandler)
    }

    /// A stable uid per plugin name, allocated on first sight (read and allocated in one transaction) from the range
    /// ``PluginUserIDs`` reserves. Errors are thrown, never papered over: a plugin given another's uid would share its
    /// state directory and limits.
    static func uid(for name: String, store: AgentStore) throws -> Int {
        let first = Int(PluginUserIDs.base)
        return try store.allocateNumber(
            // The counter's key has a ':', which no plugin name has (it was `plugin.uid.next`: a plugin called `next`).
            key: "plugin.uid." + name, counter: "plugin.uid:next", legacyCounter: "plugin.uid.next",
            in: first...(first + PluginUserIDs.capacity - 1), now: Int64(time(nil)))
    }

    /// What each built-in plugin learns from the board in its hello.
    static func pluginConfig(for plugin: PluginDescriptor, board: BoardDescription?) -> JSONObject {
        guard let board else { return JSONObject() }
        switch plugin.name {
        case "gpio":
            var pins = JSONObject()
            for p in board.pins { pins[p.name] = .object(["chip": .string(p.chip), "line": .number(JSONNumber(p.line))]) }
            let chips: [JSONValue] = board.chips.map { c in
                var o: JSONObject = ["label": .string(c.label), "lines": .number(JSONNumber(c.lines))]
                // BeagleBone labels follow probe order; the parent device name is stable across kernels.
                if let parent = c.parent { o["parent"] = .string(parent) }
                return .object(o)
            }
            return ["backend": board.gpioDevices.isEmpty ? "sim" : "gpiod", "chips": .array(chips), "pins": .object(pins)]
        case "sensors":
            return ["sysfs_root": .string(board.sensors.sysfsRoot), "simulate": .bool(board.sensors.simulated), "interval_ms": 1000]
        default:
            return JSONObject()
        }
    }

    static func executableDirectory() -> String? {
        guard let exe = FileSystem.currentExecutable(), let slash = exe.lastIndex(of: "/") else { return nil }
        return String(exe[..<slash])
    }

    /// The folder of libswiftCore.so this process runs with: a plugin built by the same toolchain needs it visible.
    static func swiftRuntimeDirectory() -> String? {
        guard let maps = try? FileSystem.readText("/proc/self/maps") else { return nil }
        for line in maps.split(separator: "\n") where line.hasSuffix("/libswiftCore.so") {
            guard let start = line.firstIndex(of: "/") else { continue }
            let path = line[start...]
            guard let slash = path.lastIndex(of: "/") else { continue }
            return String(path[..<slash])
        }
        return nil
    }
}

import ElaConfig
public import ElaJSON
public import Logging
public import ServiceLifecycle

/// All plugins of the agent: discovery results, one supervisor per plugin, the method and event routing tables.
/// As a service it starts the enabled plugins, then stops every plugin on shutdown.
public final class PluginHost: Service, Sendable {
    public let supervisors: [String: PluginSupervisor]
    public let problems: [PluginDiscoveryProblem]
    public let enabled: [String]
    public let events: EventBus
    let methods: [String: (plugin: String, capability: String)]
    let eventCapabilities: [String: String]
    let logger: Logger

    /// - Parameters:
    ///   - uid: the sandbox uid of each plugin (stable across restarts).
    ///   - config: the `config` object each plugin gets in its hello.
    public init(
        plugins: [PluginDescriptor], problems: [PluginDiscoveryProblem], enabled: [String], settings: PluginHostSettings,
        uid: (String) -> Result<Int, PluginDiscoveryProblem>, config: (PluginDescriptor) -> JSONObject,
        devices: (PluginDescriptor) -> [String]? = { _ in nil },
        events: EventBus, logger: Logger,
        requestHandler: PluginRequestHandler? = nil
    ) {
        var supervisors: [String: PluginSupervisor] = [:]
        var methods: [String: (String, String)] = [:]
        var eventCapabilities: [String: String] = [:]
        var problems = problems
        for p in plugins {
            // A plugin without its own uid is not run at all (sharing one would share its state and limits).
            let pluginUID: Int
            switch uid(p.name) {
            case .success(let u): pluginUID = u
            case .failure(let problem):
                problems.append(problem)
                continue
            }
            supervisors[p.name] = PluginSupervisor(
                descriptor: p, settings: settings, uid: pluginUID, config: config(p), boardDevices: devices(p), logger: logger,
                eventSink: { events.publish($0) }, requestHandler: requestHandler)
            for m in p.manifest.methods { methods[m.name] = (p.name, m.capability) }
            for e in p.manifest.events { eventCapabilities[e.name] = e.capability }
        }
        self.supervisors = supervisors
        self.problems = problems
        self.enabled = enabled
        self.events = events
        self.methods = methods
        self.eventCapabilities = eventCapabilities
        self.logger = logger
    }

    /// The plugin serving `method` and the capability a caller needs for it.
    public func route(_ method: String) -> (supervisor: PluginSupervisor, capability: String)? {
        guard let m = methods[method], let s = supervisors[m.plugin] else { return nil }
        return (s, m.capability)
    }

    public func capability(of method: String) -> String? { methods[method]?.capability }

    /// What a subscriber must hold to receive `event` (from the emitting plugin's manifest).
    public func capability(ofEvent event: String) -> String? { eventCapabilities[event] }

    public var eventNames: [String] { eventCapabilities.keys.sorted() }

    public var methodNames: [String] { methods.keys.sorted() }

    /// Every capability some installed plugin's method or event needs.
    public var capabilities: Set<String> { Set(methods.values.map(\.capability)).union(eventCapabilities.values) }

    public func statuses() async -> [PluginStatus] {
        var out: [PluginStatus] = []
        for name in supervisors.keys.sorted() { if let s = supervisors[name] { out.append(await s.status()) } }
        return out
    }

    public func startEnabled() async {
        for name in enabled {
            if let s = supervisors[name] {
                await s.start()
            } else {
                logger.warning("enabled plugin not found", metadata: ["plugin": "\(name)", "found": "\(supervisors.keys.sorted())"])
            }
        }
    }

    public func stopAll() async {
        await withTaskGroup(of: Void.self) { group in
            for s in supervisors.values { group.addTask { await s.stop() } }
        }
    }

    public func run() async throws {
        await startEnabled()
        try? await gracefulShutdown()
        await stopAll()
    }
}

/// What a plugin offers: its name and version, its methods with their handlers, the events it emits, and hooks
/// around its life. Build one at start-up and pass it to `PluginMain.run`.
public struct PluginDefinition: Sendable {
    /// Handles one request; the returned value is the JSON-RPC result. Throw `PluginError` for failures the caller
    /// should see as such; any other error becomes -32603 with its description.
    public typealias Handler = @Sendable (PluginCall, PluginContext) async throws -> JSONValue

    public let name: String
    public let version: String
    /// Declared method names, in declaration order (the handshake answer lists them).
    public private(set) var methods: [String] = []
    /// Declared event names, in declaration order.
    public private(set) var events: [String] = []
    var handlers: [String: Handler] = [:]
    /// Methods declared `.nonBlocking`.
    var nonBlockingMethods: Set<String> = []

    /// Where a method's handler runs.
    public enum HandlerMode: Sendable {
        /// A task on Swift's concurrency pool: it may block briefly (a sysfs read) and runs alongside other requests.
        case concurrent
        /// Started at once on the thread that reads the host's socket, which saves a thread wake-up per call (about
        /// half of a fast call's time in the plugin). The handler must never block: no sleeping, no slow I/O, no
        /// waiting on locks held for long. While it runs, no other request is read.
        case nonBlocking
    }
    /// Handles a notification from the host (e.g. `ela.event`). Runs on the connection's reader thread, in arrival
    /// order, so it must be quick and must not block (queue the work).
    public typealias NotificationHandler = @Sendable (JSONObject, PluginContext) -> Void
    var notificationHandlers: [String: NotificationHandler] = [:]

    /// Runs after the host's `ela.hello` and before the plugin answers it (start pollers, open chips). Throwing
    /// answers the hello with -32000 "start failed: ..." and ends the plugin with status 1.
    public var onStart: (@Sendable (PluginContext) async throws -> Void)?
    /// Runs once when the plugin stops (end of stream or signal), after in-flight requests were given time to end.
    public var onStop: (@Sendable (PluginContext) async -> Void)?

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    /// Declares `name` (e.g. `gpio.write`) with its handler; declaring a name again replaces the handler.
    /// Names starting with `ela.` belong to the protocol and are never routed to handlers.
    public mutating func method(_ name: String, mode: HandlerMode = .concurrent, _ handler: @escaping Handler) {
        guard !name.hasPrefix("ela.") else { return }
        if handlers[name] == nil { methods.append(name) }
        handlers[name] = handler
        if mode == .nonBlocking { nonBlockingMethods.insert(name) } else { nonBlockingMethods.remove(name) }
    }

    /// Handles the host's notification `name` (e.g. `ela.event`, delivered after `ela.subscribe`). Unknown
    /// notifications are ignored.
    public mutating func notification(_ name: String, _ handler: @escaping NotificationHandler) {
        notificationHandlers[name] = handler
    }

    /// Declares an event the plugin emits (e.g. `gpio.edge`).
    public mutating func event(_ name: String) {
        if !events.contains(name) { events.append(name) }
    }
}

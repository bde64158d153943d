#if canImport(Glibc)
import Glibc
#endif
internal import ElaPluginProtocol
internal import Synchronization

/// What a handler and the start/stop hooks get besides the call: the plugin's configuration, its state directory,
/// and the way out for events and log lines. Safe to use from any task or thread.
public final class PluginContext: Sendable {
    /// The plugin's configuration from the host's `ela.hello` (board file + `[plugins.<name>]` of agent.toml).
    public let config: JSONObject
    /// The plugin's private writable directory (`ELA_STATE_DIR`), if the host gave one.
    public let stateDirectory: String?
    private let sink: Sink
    private let hostCalls: HostCalls?

    enum Sink: Sendable {
        case host(OutboundQueue)
        case callback(@Sendable (String, JSONObject) -> Void)
    }

    init(config: JSONObject, stateDirectory: String?, outbound: OutboundQueue, hostCalls: HostCalls) {
        self.config = config
        self.stateDirectory = stateDirectory
        self.sink = .host(outbound)
        self.hostCalls = hostCalls
    }

    /// A context not connected to a host, for unit tests of handlers: events go to `onEvent`.
    public init(
        config: JSONObject = JSONObject(), stateDirectory: String? = nil,
        onEvent: @escaping @Sendable (_ event: String, _ params: JSONObject) -> Void = { _, _ in }
    ) {
        self.config = config
        self.stateDirectory = stateDirectory
        self.sink = .callback(onEvent)
        self.hostCalls = nil
    }

    /// Calls a method the host provides (`ela.device`, `ela.subscribe`, `ela.call`, ..., see docs/plugin-protocol.md)
    /// or, if the manifest `consumes` it, another plugin's method; the host gates and audits it. Requests made
    /// before the handshake is answered wait for it. An error answer keeps the host's code in `kind.code`.
    public func call(_ method: String, _ params: JSONObject = JSONObject(), timeout: Duration = .seconds(10)) async throws(PluginError)
        -> JSONValue
    {
        guard let hostCalls else { throw PluginError.failed("\(method): this context is not connected to a host") }
        return try await hostCalls.call(method, params, timeout: timeout).get()
    }

    /// Like ``call(_:_:timeout:)`` without waiting: the request is written from the calling thread (a thread of the
    /// plugin's own, such as a network loop, can use it), and `completion` runs once with the answer, the timeout or
    /// the connection's end, on whichever thread learns it (it must not block). Requests go out in the order made.
    public func send(
        _ method: String, _ params: JSONObject = JSONObject(), timeout: Duration = .seconds(10),
        completion: @escaping @Sendable (Result<JSONValue, PluginError>) -> Void
    ) {
        guard let hostCalls else { return completion(.failure(.failed("\(method): this context is not connected to a host"))) }
        hostCalls.send(method, params, timeout: timeout, completion: completion)
    }

    /// Sends the notification `event` to the host. Never blocks: events wait in a bounded queue, and when it is full
    /// (the host reads too slowly) the event is dropped and counted in `droppedEvents` (reported by `ela.ping`). So is
    /// one too large for the host to relay (logged too: the host would drop the stream over it).
    public func emit(_ event: String, _ params: JSONObject) {
        switch sink {
        case .host(let outbound):
            if case .failure(.tooLarge(let bytes, let limit)) = outbound.enqueueEvent(PluginMessage.notification(method: event, params: params).encoded()) {
                PluginLog.write("event \(event) of \(bytes) bytes dropped: larger than the host relays (\(limit))")
            }
        case .callback(let onEvent): onEvent(event, params)
        }
    }

    /// Events dropped so far because the queue to the host was full.
    public var droppedEvents: Int {
        switch sink {
        case .host(let outbound): outbound.droppedEvents
        case .callback: 0
        }
    }

    /// Writes one line to standard error, which the host logs tagged with the plugin's name.
    public func log(_ message: String) { PluginLog.write(message) }
}

enum PluginLog {
    /// One `write` per line so concurrent lines never interleave.
    static func write(_ message: String) {
        var bytes = Array(message.utf8).map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        bytes.append(0x0A)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

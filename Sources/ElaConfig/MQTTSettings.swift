internal import ElaTOML

/// The `[mqtt]` section of agent.toml: the MQTT bridge plugin's settings, passed to it in its hello config.
/// Unset keys take the plugin's defaults (broker mqtt://127.0.0.1:1883, prefix "ela", QoS 1, outbox 100000 messages
/// or 64 MiB, drop-oldest).
public struct MQTTSettings: Sendable, Equatable {
    /// `mqtt://host:port` or `mqtts://host:port`.
    public var broker: String?
    /// "3.1.1" or "5".
    public var protocolVersion: String?
    public var clientID: String?
    public var username: String?
    public var password: String?
    /// A file holding the password (first line), so the secret need not sit in agent.toml.
    public var passwordFile: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var tlsInsecure: Bool?
    public var topicPrefix: String?
    /// Events (or patterns like `sensors.*`) to publish.
    public var forward: [String]?
    public var keepaliveSeconds: Int?
    public var outboxMaxMessages: Int?
    public var outboxMaxBytes: Int?
    /// "drop-oldest" or "drop-newest".
    public var outboxFull: String?
    public var window: Int?
    public var maxInflight: Int?
    public var commands: Bool?
    public var maxCommandBytes: Int?
    public var reconnectMinMs: Int?
    public var reconnectMaxMs: Int?

    public init() {}

    /// Every set key with its plugin-config name, for the hello config.
    public var entries: [(key: String, value: Value)] {
        var out: [(String, Value)] = []
        func add(_ key: String, _ v: String?) { if let v { out.append((key, .string(v))) } }
        func add(_ key: String, _ v: Int?) { if let v { out.append((key, .int(v))) } }
        func add(_ key: String, _ v: Bool?) { if let v { out.append((key, .bool(v))) } }
        add("broker", broker)
        add("protocol", protocolVersion)
        add("client_id", clientID)
        add("username", username)
        add("password", password)
        add("ca_file", caFile)
        add("cert_file", certFile)
        add("key_file", keyFile)
        add("tls_insecure", tlsInsecure)
        add("topic_prefix", topicPrefix)
        if let forward { out.append(("forward", .strings(forward))) }
        add("keepalive_seconds", keepaliveSeconds)
        add("outbox_max_messages", outboxMaxMessages)
        add("outbox_max_bytes", outboxMaxBytes)
        add("outbox_full", outboxFull)
        add("window", window)
        add("max_inflight", maxInflight)
        add("commands", commands)
        add("max_command_bytes", maxCommandBytes)
        add("reconnect_min_ms", reconnectMinMs)
        add("reconnect_max_ms", reconnectMaxMs)
        return out
    }

    public enum Value: Sendable, Equatable {
        case string(String), int(Int), bool(Bool), strings([String])
    }

    struct Section: Decodable {
        var broker: String?
        var `protocol`: String?
        var client_id: String?
        var username: String?
        var password: String?
        var password_file: String?
        var ca_file: String?
        var cert_file: String?
        var key_file: String?
        var tls_insecure: Bool?
        var topic_prefix: String?
        var forward: [String]?
        var keepalive_seconds: Int?
        var outbox_max_messages: Int?
        var outbox_max_bytes: Int?
        var outbox_full: String?
        var window: Int?
        var max_inflight: Int?
        var commands: Bool?
        var max_command_bytes: Int?
        var reconnect_min_ms: Int?
        var reconnect_max_ms: Int?
    }

    /// Checks what can be checked without the plugin; `fail(key, message)` makes the error with the line.
    init(_ s: Section, fail: (String, String) -> ConfigError) throws(ConfigError) {
        if let b = s.broker {
            guard b.hasPrefix("mqtt://") || b.hasPrefix("mqtts://") else { throw fail("broker", "'\(b)' must be mqtt://host:port or mqtts://host:port") }
            broker = b
        }
        if let p = s.protocol {
            guard p == "3.1.1" || p == "5" else { throw fail("protocol", "must be \"3.1.1\" or \"5\"") }
            protocolVersion = p
        }
        for (key, path) in [("password_file", s.password_file), ("ca_file", s.ca_file), ("cert_file", s.cert_file), ("key_file", s.key_file)] {
            if let path, !path.hasPrefix("/") { throw fail(key, "must be an absolute path") }
        }
        if s.password != nil && s.password_file != nil { throw fail("password_file", "set password or password_file, not both") }
        if (s.cert_file == nil) != (s.key_file == nil) { throw fail(s.cert_file == nil ? "cert_file" : "key_file", "cert_file and key_file go together") }
        if let f = s.outbox_full {
            guard f == "drop-oldest" || f == "drop-newest" else { throw fail("outbox_full", "must be \"drop-oldest\" or \"drop-newest\"") }
            outboxFull = f
        }
        for (key, value, range) in [
            ("keepalive_seconds", s.keepalive_seconds, 5...3600), ("outbox_max_messages", s.outbox_max_messages, 1...100_000_000),
            ("outbox_max_bytes", s.outbox_max_bytes, 1024...Int(clamping: Int64(1) << 40)), ("window", s.window, 1...60000), ("max_inflight", s.max_inflight, 0...65535),
            ("max_command_bytes", s.max_command_bytes, 1024...(1 << 20)), ("reconnect_min_ms", s.reconnect_min_ms, 10...600_000),
            ("reconnect_max_ms", s.reconnect_max_ms, 10...3_600_000),
        ] {
            if let value, !range.contains(value) { throw fail(key, "must be \(range.lowerBound)...\(range.upperBound)") }
        }
        if let f = s.forward, f.contains(where: \.isEmpty) { throw fail("forward", "event names must not be empty") }
        clientID = s.client_id
        username = s.username
        password = s.password
        passwordFile = s.password_file
        caFile = s.ca_file
        certFile = s.cert_file
        keyFile = s.key_file
        tlsInsecure = s.tls_insecure
        topicPrefix = s.topic_prefix
        forward = s.forward
        keepaliveSeconds = s.keepalive_seconds
        outboxMaxMessages = s.outbox_max_messages
        outboxMaxBytes = s.outbox_max_bytes
        window = s.window
        maxInflight = s.max_inflight
        commands = s.commands
        maxCommandBytes = s.max_command_bytes
        reconnectMinMs = s.reconnect_min_ms
        reconnectMaxMs = s.reconnect_max_ms
    }
}

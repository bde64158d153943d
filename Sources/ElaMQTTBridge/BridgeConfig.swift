#if canImport(Glibc)
import Glibc
#endif
public import ElaJSON
public import ElaFileSystem

/// A configuration value is missing or wrong; `key` is the `[mqtt]` key in agent.toml (and in the hello config).
public struct BridgeConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "mqtt.\(key): \(message)" }
}

/// `mqtt://host:port` or `mqtts://host:port` (TLS); ports default to 1883 and 8883.
public struct BrokerURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var tls: Bool

    public init(host: String, port: Int, tls: Bool) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    public init(_ text: String) throws(BridgeConfigError) {
        let tls: Bool
        let rest: Substring
        if text.hasPrefix("mqtt://") {
            tls = false
            rest = text.dropFirst(7)
        } else if text.hasPrefix("mqtts://") {
            tls = true
            rest = text.dropFirst(8)
        } else {
            throw BridgeConfigError(key: "broker", message: "'\(text)' must start with mqtt:// or mqtts://")
        }
        let hostPort = rest.hasSuffix("/") ? rest.dropLast() : rest
        guard !hostPort.isEmpty, !hostPort.contains("/"), !hostPort.contains("@") else {
            throw BridgeConfigError(key: "broker", message: "'\(text)' must be mqtt[s]://host[:port] (credentials go in username/password)")
        }
        var host = String(hostPort)
        var port = tls ? 8883 : 1883
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else {
                throw BridgeConfigError(key: "broker", message: "'\(text)': the port must be 1...65535")
            }
            port = p
            host = String(hostPort[..<colon])
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw BridgeConfigError(key: "broker", message: "'\(text)' has no host") }
        self.init(host: host, port: port, tls: tls)
    }

    public var description: String { "\(tls ? "mqtts" : "mqtt")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// What to do when the outbox is full.
public enum OutboxFullPolicy: String, Sendable, Equatable {
    /// Remove the oldest messages not yet handed to the broker (counted in `dropped`).
    case dropOldest = "drop-oldest"
    /// Refuse the new message (counted in `dropped`).
    case dropNewest = "drop-newest"
}

/// The bridge's settings, from the plugin's hello config (built by the agent from `[mqtt]` in agent.toml).
public struct BridgeConfig: Sendable, Equatable {
    public var broker = BrokerURL(host: "127.0.0.1", port: 1883, tls: false)
    public var protocolVersion = "3.1.1"
    public var clientID: String?
    public var username: String?
    public var password: String?
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// PEM contents read by the agent (the plugin's sandbox cannot see the files); `storeTLSMaterial(in:)` writes
    /// them into the plugin's state directory and points `caFile`, `certFile` and `keyFile` at the copies.
    public var caPEM: String?
    public var certPEM: String?
    public var keyPEM: String?
    public var tlsInsecure = false
    public var topicPrefix = "ela"
    /// Event names or patterns (`sensors.*`) to forward.
    public var forward: [String] = ["sensors.reading", "gpio.edge"]
    public var keepaliveSeconds = 30
    public var outboxMaxMessages = 100_000
    public var outboxMaxBytes = 64 * 1024 * 1024
    public var outboxFull = OutboxFullPolicy.dropOldest
    /// Messages handed to libmosquitto and not yet acknowledged.
    public var window = 1000
    public var maxInflight = 100
    public var commands = true
    /// Largest command payload accepted; larger ones are refused unread.
    public var maxCommandBytes = 96 * 1024
    public var reconnectMinMs = 200
    public var reconnectMaxMs = 30_000

    public init() {}

    /// Reads the hello config; every key is optional, wrong types and values are errors naming the key.
    public init(json: JSONObject) throws(BridgeConfigError) {
        self.init()
        func string(_ key: String) throws(BridgeConfigError) -> String? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let s = v.stringValue else { throw BridgeConfigError(key: key, message: "must be a string, found \(v.kindName)") }
            return s
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(BridgeConfigError) -> Int? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let i = v.numberValue?.int64Value.flatMap({ Int(exactly: $0) }) else {
                throw BridgeConfigError(key: key, message: "must be an integer, found \(v.kindName)")
            }
            guard range.contains(i) else { throw BridgeConfigError(key: key, message: "must be \(range.lowerBound)...\(range.upperBound), found \(i)") }
            return i
        }
        func bool(_ key: String) throws(BridgeConfigError) -> Bool? {
            guard let v = json[key], !v.isNull else { return nil }
            guard let b = v.boolValue else { throw BridgeConfigError(key: key, message: "must be true or false, found \(v.kindName)") }
            return b
        }
        let known: Set<String> = [
            "broker", "protocol", "client_id", "username", "password", "ca_file", "cert_file", "key_file", "ca_pem", "cert_pem", "key_pem", "tls_error", "tls_insecure",
            "topic_prefix", "forward", "keepalive_seconds", "outbox_max_messages", "outbox_max_bytes", "outbox_full", "window",
            "max_inflight", "commands", "max_command_bytes", "reconnect_min_ms", "reconnect_max_ms",
        ]
        for key in json.keys where !known.contains(key) {
            throw BridgeConfigError(key: key, message: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
        if let b = try string("broker") { broker = try BrokerURL(b) }
        if let p = try string("protocol") {
            guard p == "3.1.1" || p == "5" else { throw BridgeConfigError(key: "protocol", message: "must be \"3.1.1\" or \"5\", found \"\(p)\"") }
            protocolVersion = p
        }
        clientID = try string("client_id")
        username = try string("username")
        password = try string("password")
        caFile = try string("ca_file")
        certFile = try string("cert_file")
        keyFile = try string("key_file")
        if (certFile == nil) != (keyFile == nil) {
            throw BridgeConfigError(key: certFile == nil ? "cert_file" : "key_file", message: "cert_file and key_file go together")
        }
        if let why = try string("tls_error") {
            throw BridgeConfigError(key: "tls", message: "the agent could not read a TLS file (\(why)); fix it, the bridge does not fall back")
        }
        caPEM = try string("ca_pem")
        certPEM = try string("cert_pem")
        keyPEM = try string("key_pem")
        if (certPEM == nil) != (keyPEM == nil) {
            throw BridgeConfigError(key: certPEM == nil ? "cert_pem" : "key_pem", message: "cert_pem and key_pem go together")
        }
        for (key, pem) in [("ca_pem", caPEM), ("cert_pem", certPEM), ("key_pem", keyPEM)] {
            if let pem, !pem.contains("-----BEGIN ") { throw BridgeConfigError(key: key, message: "is not PEM (no -----BEGIN line)") }
        }
        if let i = try bool("tls_insecure") { tlsInsecure = i }
        if let p = try string("topic_prefix") { topicPrefix = p }
        if let v = json["forward"], !v.isNull {
            guard let items = v.arrayValue, items.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
                throw BridgeConfigError(key: "forward", message: "must be a list of event names or patterns, e.g. [\"sensors.reading\", \"gpio.*\"]")
            }
            forward = items.compactMap(\.stringValue)
        }
        if let k = try int("keepalive_seconds", 5...3600) { keepaliveSeconds = k }
        if let m = try int("outbox_max_messages", 1...100_000_000) { outboxMaxMessages = m }
        if let m = try int("outbox_max_bytes", 1024...Int(clamping: Int64(1) << 40)) { outboxMaxBytes = m }
        if let p = try string("outbox_full") {
            guard let policy = OutboxFullPolicy(rawValue: p) else {
                throw BridgeConfigError(key: "outbox_full", message: "must be \"drop-oldest\" or \"drop-newest\", found \"\(p)\"")
            }
            outboxFull = policy
        }
        if let w = try int("window", 1...60000) { window = w }
        if let m = try int("max_inflight", 0...65535) { maxInflight = m }
        if let c = try bool("commands") { commands = c }
        if let m = try int("max_command_bytes", 1024...(1 << 20)) { maxCommandBytes = m }
        if let m = try int("reconnect_min_ms", 10...600_000) { reconnectMinMs = m }
        if let m = try int("reconnect_max_ms", 10...3_600_000) { reconnectMaxMs = m }
        guard reconnectMaxMs >= reconnectMinMs else {
            throw BridgeConfigError(key: "reconnect_max_ms", message: "must be at least reconnect_min_ms (\(reconnectMinMs))")
        }
        if broker.tls == false && (caFile != nil || certFile != nil || caPEM != nil || certPEM != nil) {
            throw BridgeConfigError(key: "broker", message: "TLS files are set but the broker URL is mqtt://; use mqtts://")
        }
    }
}

extension BridgeConfig {
    /// Writes the PEM contents from the hello into `directory` (created 0700, files 0600, atomically) and points
    /// `caFile`, `certFile` and `keyFile` at them; libmosquitto takes TLS material only as files. Copies the hello no
    /// longer carries are removed, so a key taken out of agent.toml does not linger here.
    public mutating func storeTLSMaterial(in directory: String) throws(FileSystemError) {
        for (name, supplied) in [("ca.pem", caPEM != nil), ("client.pem", certPEM != nil), ("client.key", keyPEM != nil)] where !supplied {
            _ = unlink(directory + "/" + name)
        }
        guard caPEM != nil || certPEM != nil || keyPEM != nil else { return }
        if !FileSystem.isDirectory(directory) { try FileSystem.makeDirectory(directory, mode: 0o700) }
        if let caPEM {
            try FileSystem.writeAtomically(directory + "/ca.pem", Array(caPEM.utf8), mode: 0o600)
            caFile = directory + "/ca.pem"
        }
        if let certPEM, let keyPEM {
            try FileSystem.writeAtomically(directory + "/client.pem", Array(certPEM.utf8), mode: 0o600)
            try FileSystem.writeAtomically(directory + "/client.key", Array(keyPEM.utf8), mode: 0o600)
            certFile = directory + "/client.pem"
            keyFile = directory + "/client.key"
        }
    }
}

internal import ElaTOML

/// The `[carrier]` section of agent.toml: the Tox network the device joins (ela-carrier's hello config).
///
/// ```toml
/// [carrier]
/// enable = true          # start ela-carrier (default: true when bootstrap nodes are configured)
/// udp = true             # false: TCP relays only
/// lan_discovery = false
/// [[carrier.bootstrap]]  # DHT entry points (Debian's tox-bootstrapd, or public Tox nodes)
/// host = "127.0.0.1"
/// port = 33445
/// public_key = "<64 hex digits>"
/// [[carrier.relay]]      # TCP relays (tox-bootstrapd with enable_tcp_relay)
/// host = "127.0.0.1"
/// port = 33446
/// public_key = "<64 hex digits>"
/// ```
public struct CarrierSettings: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// The node's DHT public key, 64 hex digits.
        public var publicKey: String

        public init(host: String, port: Int, publicKey: String) {
            self.host = host
            self.port = port
            self.publicKey = publicKey
        }
    }

    public var enable: Bool?
    public var udp = true
    public var lanDiscovery = false
    public var bootstrap: [Node] = []
    public var relays: [Node] = []
    /// Tox messages in flight per friend without a read receipt over a TCP relay (bursts there wedge above ~32).
    public var window = 32
    /// The same over a direct UDP link. toxcore acknowledges a one-way stream only every ~50 ms, so a window of 32
    /// capped an event stream at ~320 events/s (measured); UDP has no relay to wedge.
    public var udpWindow = 512

    public init() {}

    /// Whether ela-carrier runs: `enable`, else whether there is any node to reach.
    public var isEnabled: Bool { enable ?? !(bootstrap.isEmpty && relays.isEmpty) }

    struct Section: Decodable {
        struct NodeSection: Decodable {
            var host: String
            var port: Int
            var public_key: String
        }
        var enable: Bool?
        var udp: Bool?
        var lan_discovery: Bool?
        var bootstrap: [NodeSection]?
        var relay: [NodeSection]?
        var window: Int?
        var udp_window: Int?
    }

    init(_ s: Section, fail: (String, String) -> ConfigError) throws(ConfigError) {
        enable = s.enable
        udp = s.udp ?? true
        lanDiscovery = s.lan_discovery ?? false
        if let w = s.window {
            guard (1...256).contains(w) else { throw fail("window", "must be 1...256 (32 is safe over TCP relays)") }
            window = w
        }
        if let w = s.udp_window {
            guard (1...4096).contains(w) else { throw fail("udp_window", "must be 1...4096") }
            udpWindow = w
        }
        func nodes(_ list: [Section.NodeSection]?, _ name: String) throws(ConfigError) -> [Node] {
            var out: [Node] = []
            for (i, n) in (list ?? []).enumerated() {
                guard !n.host.isEmpty else { throw fail("\(name)[\(i)].host", "must be a host name or address") }
                guard (1...65535).contains(n.port) else { throw fail("\(name)[\(i)].port", "\(n.port) is not a port (1-65535)") }
                let hex = n.public_key.utf8
                guard hex.count == 64, hex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }) else {
                    throw fail("\(name)[\(i)].public_key", "must be the node's 32-byte DHT key as 64 hex digits (tox-bootstrapd prints it)")
                }
                out.append(Node(host: n.host, port: n.port, publicKey: n.public_key.lowercased()))
            }
            return out
        }
        bootstrap = try nodes(s.bootstrap, "bootstrap")
        relays = try nodes(s.relay, "relay")
    }
}

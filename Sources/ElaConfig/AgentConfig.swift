internal import ElaTOML

/// How the device keystore is unlocked.
public enum KeyProtectionSetting: Sendable, Equatable {
    /// A root-only 0600 file of random bytes: unattended boot.
    case machineSecret(path: String)
    /// A passphrase from a file (or `$ELA_AGENT_PASSPHRASE`), stretched with Argon2id.
    case passphrase(file: String?)
}

public enum LogLevel: String, Sendable, Equatable, Decodable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// Argon2id cost for passphrase-protected keystores. `moderate` takes about a second and 256 MiB;
/// `interactive` suits small boards.
public enum KDFStrength: String, Sendable, Equatable, Decodable {
    case interactive, moderate
}

/// Where a new header chain starts: the newest built-in checkpoint (its block fetched and checked against the
/// pinned hash; ~2 GB less to download on mainnet) or genesis.
public enum ChainStart: String, Sendable, Equatable, Decodable {
    case checkpoint, genesis
}

/// Which ELA network the SPV client follows: production, the public testnet, or a local `ela-regtest`.
public enum ChainNetwork: String, Sendable, Equatable, Decodable {
    case mainnet, testnet, regnet
}

/// The agent configuration (`/etc/ela-agent/agent.toml`), with defaults for every key.
public struct AgentConfig: Sendable, Equatable {
    public var board: String = "sim"
    public var stateDir: String = "/var/lib/ela-agent"
    public var runtimeDir: String = "/run/ela-agent"
    public var logLevel: LogLevel = .info
    /// nil means `<stateDir>/machine.key` with machine-secret protection.
    public var protection: KeyProtectionSetting? = nil
    public var kdf: KDFStrength = .moderate
    public var documentValidityYears: Int = 5
    public var controlSocketMode: UInt32 = 0o660
    /// Group given to the control socket (the package's `ela-agent`), so its members may use elactl; nil keeps the
    /// agent's own group.
    public var controlSocketGroup: String? = nil
    public var spvNetwork: ChainNetwork = .mainnet
    /// `host:port` of chain peers; none means no syncing (peer DIDs can then only be pinned).
    public var spvPeers: [String] = []
    /// Blocks on top of a DID's request before the DID counts as verified.
    public var spvConfirmations: Int = 6
    public var spvStart: ChainStart = .checkpoint
    /// Extra folders searched for `<name>/plugin.toml` (before the built-in ones).
    public var pluginDirs: [String] = []
    /// Plugins to start; nil means the board's `default_plugins`.
    public var pluginsEnabled: [String]? = nil
    /// false runs plugins unconfined: for debugging only, shown as a warning by `elactl plugin list`.
    public var pluginSandbox = true
    /// Seconds between health pings to each plugin.
    public var pluginPingSeconds: Double = 5
    /// A plugin's own requests through the gate (an MQTT bridge's relayed calls, say) answered per second, twice
    /// as many in a burst; more are answered `busy`.
    public var pluginRequestsPerSecond: Double = 500
    /// `[mqtt]`: the MQTT bridge plugin's settings (nil: the plugin's defaults).
    public var mqtt: MQTTSettings? = nil
    /// `[carrier]`: the Tox network ela-carrier joins (defaults: no nodes, so the carrier stays off).
    public var carrier = CarrierSettings()
    /// `[audit] max_rows`: the newest audit rows kept (older ones are removed, the chain still verifies); 0 keeps all.
    public var auditMaxRows: Int64 = 500_000
    /// `[audit] max_age_days`: audit rows older than this are removed; 0 keeps them however old.
    public var auditMaxAgeDays: Int64 = 0

    public static let defaultPath = "/etc/ela-agent/agent.toml"

    public init() {}

    public var controlSocketPath: String { runtimeDir + "/control.sock" }
    public var databasePath: String { stateDir + "/agent.db" }
    public var keystoreDir: String { stateDir + "/keystore" }
    /// Each plugin's writable state lives in `<pluginStateRoot>/<name>`.
    public var pluginStateRoot: String { stateDir + "/plugins" }
    public var effectiveProtection: KeyProtectionSetting { protection ?? .machineSecret(path: stateDir + "/machine.key") }

    /// Parses and validates a config file's text, with `overrides` (``ConfigOverrides``) in place of the file's
    /// values. Errors name the file, line and key.
    public static func parse(_ text: String, fileName: String = "agent.toml", overrides: [String: String] = [:]) throws(ConfigError) -> AgentConfig {
        let (file, table) = try decodeTOMLFile(ConfigFile.self, text, fileName: fileName, overrides: overrides)
        func fail(_ section: String, _ key: String, _ message: String) -> ConfigError {
            if overrides["\(section).\(key)"] != nil {
                return ConfigError(file: ConfigOverrides.origin, line: nil, key: "\(section).\(key)", message: message)
            }
            let line = table[section]?.tableValue?.position(of: key)?.line
            return ConfigError(file: fileName, line: line, key: "\(section).\(key)", message: message)
        }

        var config = AgentConfig()
        if let a = file.agent {
            if let b = a.board {
                guard isValidBoardId(b) else { throw fail("agent", "board", "'\(b)' is not a board id (a-z, 0-9, '-')") }
                config.board = b
            }
            if let s = a.state_dir {
                guard s.hasPrefix("/") else { throw fail("agent", "state_dir", "must be an absolute path") }
                config.stateDir = s
            }
            if let r = a.runtime_dir {
                guard r.hasPrefix("/") else { throw fail("agent", "runtime_dir", "must be an absolute path") }
                config.runtimeDir = r
            }
            if let l = a.log_level { config.logLevel = l }
        }
        if let i = file.identity {
            switch i.protection ?? "machine-secret" {
            case "machine-secret":
                if i.passphrase_file != nil {
                    throw fail("identity", "passphrase_file", "only used with protection = \"passphrase\"")
                }
                if let p = i.machine_secret {
                    guard p.hasPrefix("/") else { throw fail("identity", "machine_secret", "must be an absolute path") }
                    config.protection = .machineSecret(path: p)
                }
            case "passphrase":
                if i.machine_secret != nil {
                    throw fail("identity", "machine_secret", "only used with protection = \"machine-secret\"")
                }
                if let f = i.passphrase_file, !f.hasPrefix("/") {
                    throw fail("identity", "passphrase_file", "must be an absolute path")
                }
                config.protection = .passphrase(file: i.passphrase_file)
            case let other:
                throw fail("identity", "protection", "'\(other)' is not one of \"machine-secret\", \"passphrase\"")
            }
            if let k = i.kdf { config.kdf = k }
            if let y = i.document_validity_years {
                guard (1...5).contains(y) else { throw fail("identity", "document_validity_years", "must be 1...5 (the SDK maximum is 5)") }
                config.documentValidityYears = y
            }
        }
        if let v = file.spv {
            if let n = v.network { config.spvNetwork = n }
            if let peers = v.peers {
                for (i, peer) in peers.enumerated() where !isValidPeer(peer) {
                    throw ConfigError(
                        file: fileName, line: table["spv"]?.tableValue?.position(of: "peers")?.line, key: "spv.peers[\(i)]",
                        message: "'\(peer)' is not host:port")
                }
                config.spvPeers = peers
            }
            if let start = v.start { config.spvStart = start }
            if let c = v.confirmations {
                guard (1...1000).contains(c) else { throw fail("spv", "confirmations", "must be 1...1000") }
                config.spvConfirmations = c
            }
        }
        if let p = file.plugins {
            if let dirs = p.dirs {
                for (i, d) in dirs.enumerated() where !d.hasPrefix("/") {
                    throw ConfigError(
                        file: fileName, line: table["plugins"]?.tableValue?.position(of: "dirs")?.line, key: "plugins.dirs[\(i)]",
                        message: "'\(d)' must be an absolute path")
                }
                config.pluginDirs = dirs
            }
            if let enabled = p.enable {
                for (i, name) in enabled.enumerated() where !isValidBoardId(name) {
                    throw ConfigError(
                        file: fileName, line: table["plugins"]?.tableValue?.position(of: "enable")?.line, key: "plugins.enable[\(i)]",
                        message: "'\(name)' is not a plugin name (a-z, 0-9, '-')")
                }
                config.pluginsEnabled = enabled
            }
            if let sandbox = p.sandbox { config.pluginSandbox = sandbox }
            if let ping = p.ping_seconds {
                guard ping >= 0.1 && ping <= 3600 else { throw fail("plugins", "ping_seconds", "must be 0.1...3600") }
                config.pluginPingSeconds = ping
            }
            if let rate = p.requests_per_second {
                guard rate >= 1 && rate <= 100_000 else { throw fail("plugins", "requests_per_second", "must be 1...100000") }
                config.pluginRequestsPerSecond = rate
            }
        }
        if let a = file.audit {
            if let rows = a.max_rows {
                guard rows == 0 || (1000...1_000_000_000).contains(rows) else {
                    throw fail("audit", "max_rows", "must be 0 (keep all) or 1000...1000000000")
                }
                config.auditMaxRows = rows
            }
            if let days = a.max_age_days {
                guard (0...36_500).contains(days) else { throw fail("audit", "max_age_days", "must be 0 (no limit) or 1...36500") }
                config.auditMaxAgeDays = days
            }
        }
        if let m = file.mqtt { config.mqtt = try MQTTSettings(m) { key, message in fail("mqtt", key, message) } }
        if let c = file.carrier { config.carrier = try CarrierSettings(c) { key, message in fail("carrier", key, message) } }
        if let c = file.control, let m = c.socket_mode {
            guard let mode = UInt32(m, radix: 8), mode <= 0o777, m.count <= 4 else {
                throw fail("control", "socket_mode", "'\(m)' is not an octal file mode like \"0660\"")
            }
            config.controlSocketMode = mode
        }
        if let c = file.control, let g = c.socket_group {
            let valid = !g.isEmpty && g.utf8.count <= 32 && g.utf8.first.map { $0 != UInt8(ascii: "-") } == true
                && g.utf8.allSatisfy { b in
                    (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
                }
            guard valid else { throw fail("control", "socket_group", "'\(g)' is not a group name (a-z 0-9 _ -, at most 32)") }
            config.controlSocketGroup = g
        }
        return config
    }

    static func isValidPeer(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return false }
        return (1...65535).contains(port) && colon != text.startIndex
    }

    static func isValidBoardId(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64
            && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// Applies command-line overrides (they win over the file).
    public mutating func override(board: String?, stateDir: String?, runtimeDir: String?) throws(ConfigError) {
        if let board {
            guard Self.isValidBoardId(board) else {
                throw ConfigError(file: nil, line: nil, key: "--board", message: "'\(board)' is not a board id (a-z, 0-9, '-')")
            }
            self.board = board
        }
        if let stateDir { self.stateDir = stateDir }
        if let runtimeDir { self.runtimeDir = runtimeDir }
    }
}

/// A configuration problem, described as `file:line: key: message`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String?, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var parts: [String] = []
        if let file { parts.append(line.map { "\(file):\($0)" } ?? file) } else if let line { parts.append("line \(line)") }
        if let key { parts.append(key) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// The file's shape; every key optional so defaults apply. Names are the TOML keys.
struct ConfigFile: Decodable {
    struct Agent: Decodable {
        var board: String?
        var state_dir: String?
        var runtime_dir: String?
        var log_level: LogLevel?
    }
    struct Identity: Decodable {
        var protection: String?
        var machine_secret: String?
        var passphrase_file: String?
        var kdf: KDFStrength?
        var document_validity_years: Int?
    }
    struct Control: Decodable {
        var socket_mode: String?
        var socket_group: String?
    }
    struct SPV: Decodable {
        var network: ChainNetwork?
        var peers: [String]?
        var confirmations: Int?
        var start: ChainStart?
    }
    struct Plugins: Decodable {
        var dirs: [String]?
        var enable: [String]?
        var sandbox: Bool?
        var ping_seconds: Double?
        var requests_per_second: Double?
    }
    struct Audit: Decodable {
        var max_rows: Int64?
        var max_age_days: Int64?
    }
    var agent: Agent?
    var plugins: Plugins?
    var audit: Audit?
    var identity: Identity?
    var control: Control?
    var spv: SPV?
    var mqtt: MQTTSettings.Section?
    var carrier: CarrierSettings.Section?
}

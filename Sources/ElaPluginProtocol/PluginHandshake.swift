public import ElaJSON

/// The first exchange on every plugin connection: the host sends `ela.hello` with the protocol versions it
/// speaks; the plugin answers with the one it picked and what it offers. Nothing else is valid before it.
public enum PluginHandshake {
    public static let method = "ela.hello"
    /// Versions this host speaks, newest first.
    public static let supportedVersions: [Int] = [1]

    /// Health check the host sends any time after the handshake; the answer is `{}` (or stats).
    public static let pingMethod = "ela.ping"

    public struct Hello: Sendable, Equatable {
        public var versions: [Int]
        public var host: String
        /// The plugin's configuration, built by the host from the board and `agent.toml` (`[plugins.<name>]`).
        public var config: JSONObject
        public init(versions: [Int] = PluginHandshake.supportedVersions, host: String, config: JSONObject = JSONObject()) {
            self.versions = versions
            self.host = host
            self.config = config
        }
        public var params: JSONObject {
            JSONObject([
                ("versions", .array(versions.map { .number(JSONNumber($0)) })), ("host", .string(host)), ("config", .object(config)),
            ])
        }

        /// Reads the host's hello on the plugin side.
        public init(params: JSONObject) throws(PluginProtocolError) {
            guard let list = params["versions"]?.arrayValue else {
                throw PluginProtocolError(.invalidParams, "ela.hello needs \"versions\": an array of integers")
            }
            var versions: [Int] = []
            for v in list {
                guard let n = v.numberValue?.int64Value, let i = Int(exactly: n) else {
                    throw PluginProtocolError(.invalidParams, "ela.hello \"versions\" must hold integers")
                }
                versions.append(i)
            }
            let config: JSONObject
            switch params["config"] {
            case nil, .null?: config = JSONObject()
            case .object(let o)?: config = o
            default: throw PluginProtocolError(.invalidParams, "ela.hello \"config\" must be an object")
            }
            self.init(versions: versions, host: params["host"]?.stringValue ?? "", config: config)
        }
    }

    /// What a plugin declares in its answer.
    public struct Welcome: Sendable, Equatable {
        public var version: Int
        public var name: String
        public var pluginVersion: String
        public var methods: [String]
        public var events: [String]

        public init(version: Int, name: String, pluginVersion: String, methods: [String], events: [String]) {
            self.version = version
            self.name = name
            self.pluginVersion = pluginVersion
            self.methods = methods
            self.events = events
        }

        public var result: JSONValue {
            .object(
                JSONObject([
                    ("version", .number(JSONNumber(version))), ("name", .string(name)), ("pluginVersion", .string(pluginVersion)),
                    ("methods", .array(methods.map(JSONValue.string))), ("events", .array(events.map(JSONValue.string))),
                ]))
        }

        /// Checks a plugin's answer against what the host offered.
        public init(result: JSONValue, offered: [Int]) throws(PluginProtocolError) {
            guard let o = result.objectValue, let v = o["version"]?.numberValue?.int64Value, let name = o["name"]?.stringValue,
                !name.isEmpty
            else {
                throw PluginProtocolError(.invalidRequest, "the hello answer needs an integer \"version\" and a \"name\"")
            }
            // `Int(exactly:)`: a number past Int.max on a 32-bit board must be a mismatch, not a trap.
            guard let version = Int(exactly: v), offered.contains(version) else {
                throw PluginProtocolError(.versionMismatch, "plugin chose protocol \(v); the host speaks \(offered)")
            }
            func strings(_ key: String) throws(PluginProtocolError) -> [String] {
                guard let items = o[key] else { return [] }
                guard let a = items.arrayValue else { throw PluginProtocolError(.invalidRequest, "\"\(key)\" must be an array of strings") }
                var out: [String] = []
                for item in a {
                    guard let s = item.stringValue else { throw PluginProtocolError(.invalidRequest, "\"\(key)\" must be an array of strings") }
                    out.append(s)
                }
                return out
            }
            self.init(
                version: version, name: name, pluginVersion: o["pluginVersion"]?.stringValue ?? "", methods: try strings("methods"),
                events: try strings("events"))
        }
    }
}

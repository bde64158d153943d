internal import ElaTOML

/// A plugin's `plugin.toml`: what it is, what it offers (methods with the capability each needs, events), what it
/// calls, and what its sandbox must allow. Invalid manifests are refused with the key and line that is wrong.
public struct PluginManifest: Sendable, Equatable {
    /// Paths a manifest may not bind into its sandbox: the sandbox's own /proc, /dev and /run would be covered by
    /// the host's (every process and command line, every device node, D-Bus and other sockets). `/etc` as a whole
    /// is refused too (the sandbox has a minimal one); a part of it such as /etc/ssl is fine.
    public static let hostOnlyPaths = ["/proc", "/dev", "/run", "/var/run"]

    public struct Method: Sendable, Equatable {
        public var name: String
        /// The capability a caller's grant must cover, e.g. `gpio.write`.
        public var capability: String
    }

    public struct Event: Sendable, Equatable {
        public var name: String
        /// What a subscriber must hold, e.g. `gpio.subscribe`.
        public var capability: String

        public init(name: String, capability: String) {
            self.name = name
            self.capability = capability
        }
    }

    public struct Sandbox: Sendable, Equatable {
        /// Device nodes or globs under /dev the plugin may open (e.g. `/dev/gpiochip*`).
        public var devices: [String] = []
        /// Extra paths visible read-only inside the sandbox (e.g. `/sys` for sensors); system dirs always are.
        public var readOnly: [String] = []
        /// Without network the plugin gets its own empty network namespace.
        public var network = false
        /// A private writable state directory.
        public var stateDirectory = true
        public var memoryMB = 64
        public var pids = 32
    }

    public var name: String
    public var version: String
    public var executable: String
    public var description: String
    public var methods: [Method]
    public var events: [Event]
    /// Capabilities the plugin itself calls (plugin-to-plugin calls are gated like any other).
    public var consumes: [String]
    public var sandbox: Sandbox

    public static func parse(_ text: String, fileName: String = "plugin.toml") throws(ConfigError) -> PluginManifest {
        let (file, table) = try decodeTOMLFile(ManifestFile.self, text, fileName: fileName)
        func fail(_ key: String, _ message: String, line: Int? = nil) -> ConfigError {
            ConfigError(file: fileName, line: line ?? table.position(of: key)?.line, key: key, message: message)
        }
        func arrayLine(_ key: String) -> Int? { table.position(of: key)?.line }

        guard AgentConfig.isValidBoardId(file.name) else { throw fail("name", "'\(file.name)' must be a-z, 0-9 and '-'") }
        // Method and event names start with the plugin's name: `ela.*` is the protocol's own (ela.hello, ela.event...).
        guard file.name != "ela" else { throw fail("name", "'ela' is reserved for the plugin protocol's own methods") }
        guard isVersion(file.version) else { throw fail("version", "'\(file.version)' is not a version like 1.2.3") }
        guard !file.executable.isEmpty, !file.executable.contains(".."), !file.executable.hasSuffix("/") else {
            throw fail("executable", "'\(file.executable)' is not a program name or absolute path")
        }
        var methods: [Method] = []
        for (i, m) in (file.method ?? []).enumerated() {
            let key = "method[\(i)]"
            guard m.name.hasPrefix(file.name + "."), isName(m.name) else {
                throw fail("\(key).name", "'\(m.name)' must be '\(file.name).<verb>'", line: arrayLine("method"))
            }
            guard isCapability(m.capability) else {
                throw fail("\(key).capability", "'\(m.capability)' is not a capability like gpio.write", line: arrayLine("method"))
            }
            guard !methods.contains(where: { $0.name == m.name }) else {
                throw fail("\(key).name", "method '\(m.name)' is declared twice", line: arrayLine("method"))
            }
            methods.append(Method(name: m.name, capability: m.capability))
        }
        var events: [Event] = []
        for (i, e) in (file.event ?? []).enumerated() {
            let key = "event[\(i)]"
            guard e.name.hasPrefix(file.name + "."), isName(e.name) else {
                throw fail("\(key).name", "'\(e.name)' must be '\(file.name).<event>'", line: arrayLine("event"))
            }
            guard isCapability(e.capability) else {
                throw fail("\(key).capability", "'\(e.capability)' is not a capability", line: arrayLine("event"))
            }
            events.append(Event(name: e.name, capability: e.capability))
        }
        for (i, c) in (file.consumes ?? []).enumerated() where !isCapability(c) {
            throw fail("consumes[\(i)]", "'\(c)' is not a capability", line: arrayLine("consumes"))
        }
        var sandbox = Sandbox()
        if let s = file.sandbox {
            let sandboxTable = table["sandbox"]?.tableValue
            func sfail(_ key: String, _ message: String) -> ConfigError {
                ConfigError(file: fileName, line: sandboxTable?.position(of: key)?.line, key: "sandbox.\(key)", message: message)
            }
            for d in s.devices ?? [] {
                guard d.hasPrefix("/dev/"), !d.contains(".."), d.count > 5 else {
                    throw sfail("devices", "'\(d)' is not a device node or glob under /dev")
                }
            }
            sandbox.devices = s.devices ?? []
            for p in s.read_only ?? [] {
                // One spelling per path: no empty, '.' or '..' parts (`//run`, `/./proc` would dodge the checks below;
                // the launcher checks the real path again, symlinks resolved).
                let parts = p.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
                guard p.hasPrefix("/"), p != "/", parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
                    throw sfail("read_only", "'\(p)' must be an absolute path other than /, written plainly (no '//', '.' or '..', no trailing '/')")
                }
                if let hidden = Self.hostOnlyPaths.first(where: { p == $0 || p.hasPrefix($0 + "/") }) ?? (p == "/etc" ? "/etc" : nil) {
                    throw sfail(
                        "read_only",
                        "'\(p)' is not granted: \(hidden) stays the sandbox's own (the host's processes, devices, sockets or "
                            + "files must not show through); name what the plugin needs, e.g. /etc/ssl")
                }
            }
            sandbox.readOnly = s.read_only ?? []
            sandbox.network = s.network ?? false
            sandbox.stateDirectory = s.state_dir ?? true
            if let m = s.memory_mb {
                guard (4...4096).contains(m) else { throw sfail("memory_mb", "must be 4...4096") }
                sandbox.memoryMB = m
            }
            if let p = s.pids {
                guard (1...4096).contains(p) else { throw sfail("pids", "must be 1...4096") }
                sandbox.pids = p
            }
        }
        return PluginManifest(
            name: file.name, version: file.version, executable: file.executable, description: file.description ?? "",
            methods: methods, events: events, consumes: file.consumes ?? [], sandbox: sandbox)
    }

    static func isVersion(_ s: String) -> Bool {
        let core = s.split(separator: "-", maxSplits: 1).first.map(String.init) ?? ""
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    static func isName(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { p in
            !p.isEmpty && p.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
        }
    }

    /// `gpio.write`, or a pattern `gpio.*`.
    static func isCapability(_ s: String) -> Bool {
        if s.hasSuffix(".*") { return isName(String(s.dropLast(2)) + ".x") }
        return isName(s)
    }
}

struct ManifestFile: Decodable {
    struct Method: Decodable {
        var name: String
        var capability: String
    }
    struct Event: Decodable {
        var name: String
        var capability: String
    }
    struct Sandbox: Decodable {
        var devices: [String]?
        var read_only: [String]?
        var network: Bool?
        var state_dir: Bool?
        var memory_mb: Int?
        var pids: Int?
    }
    var name: String
    var version: String
    var executable: String
    var description: String?
    var method: [Method]?
    var event: [Event]?
    var consumes: [String]?
    var sandbox: Sandbox?
}

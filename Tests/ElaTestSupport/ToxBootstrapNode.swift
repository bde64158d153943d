#if canImport(Glibc)
import Glibc
#endif

/// A real `tox-bootstrapd` (Debian toxcore-utils) on loopback: DHT on a free UDP port, TCP relay on another, from a
/// generated config; its DHT key is read back from its log. Stopped by pid (SIGTERM, then SIGKILL).
public final class ToxBootstrapNode: @unchecked Sendable {  // started and stopped by one test suite
    public static let executable = "/usr/bin/tox-bootstrapd"
    public static var isInstalled: Bool { access(executable, X_OK) == 0 }

    public let udpPort: Int
    public let tcpPort: Int
    public let directory: TemporaryDirectory
    public private(set) var publicKey = ""
    private var process: ChildProcess?

    public init() throws {
        directory = TemporaryDirectory(prefix: "ela-toxbootstrap")
        udpPort = MosquittoBroker.freePort()
        var tcp = MosquittoBroker.freePort()
        while tcp == udpPort { tcp = MosquittoBroker.freePort() }
        tcpPort = tcp
        _ = directory.write(
            "bootstrapd.conf",
            """
            port = \(udpPort)
            keys_file_path = "\(directory.path)/bootstrapd.keys"
            pid_file_path = "\(directory.path)/bootstrapd.pid"
            enable_ipv6 = false
            enable_ipv4_fallback = true
            enable_lan_discovery = false
            enable_tcp_relay = true
            tcp_relay_ports = [\(tcpPort)]
            enable_motd = true
            motd = "ela-agent tests"
            bootstrap_nodes = ()

            """)
        try start()
    }

    /// Starts the node (again, after `stop()`): same ports, and the same key from its keys file.
    public func start() throws {
        guard process == nil else { return }
        let p = try ChildProcess(
            Self.executable, ["--config=\(directory.path)/bootstrapd.conf", "--foreground", "--log-backend=stdout"],
            outputDirectory: directory.path, resetSignals: true)
        process = p
        let found = ChildProcess.waitUntil(timeoutSeconds: 10) { Self.key(in: p.stdout) != nil }
        guard found, let key = Self.key(in: p.stdout) else {
            stop()
            throw ChildProcessError(message: "tox-bootstrapd printed no public key: \(p.stdout) \(p.stderr)")
        }
        guard publicKey.isEmpty || publicKey == key else {
            stop()
            throw ChildProcessError(message: "tox-bootstrapd came back with another key (\(key), was \(publicKey))")
        }
        publicKey = key
    }

    static func key(in log: String) -> String? {
        for line in log.split(separator: "\n") {
            guard let r = line.firstRange(of: "Public Key: ") else { continue }
            let hex = line[r.upperBound...].prefix(64)
            if hex.count == 64 { return String(hex).lowercased() }
        }
        return nil
    }

    /// `[carrier]` lines for agent.toml naming this node as bootstrap node and TCP relay.
    public func agentConfig(udp: Bool = true) -> String {
        """
        [carrier]
        udp = \(udp)
        [[carrier.bootstrap]]
        host = "127.0.0.1"
        port = \(udpPort)
        public_key = "\(publicKey)"
        [[carrier.relay]]
        host = "127.0.0.1"
        port = \(tcpPort)
        public_key = "\(publicKey)"

        """
    }

    public var isRunning: Bool { process != nil }
    public var log: String { process?.stdout ?? "" }

    public func stop() {
        guard let p = process else { return }
        process = nil
        p.signal(SIGTERM)
        if (try? p.wait(timeoutSeconds: 5)) == nil {
            p.signal(SIGKILL)
            _ = try? p.wait(timeoutSeconds: 5)
        }
    }

    deinit {
        stop()
        directory.remove()
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A real `mosquitto` broker on a free loopback port, started from a generated config and stopped by pid.
/// Persistence is off; queues are unbounded so a slow test subscriber never loses QoS 1 messages at the broker.
public final class MosquittoBroker: @unchecked Sendable {  // used by one test at a time
    public static let executable = "/usr/sbin/mosquitto"
    public static var isInstalled: Bool { access(executable, X_OK) == 0 }

    public private(set) var port: Int
    public let directory: TemporaryDirectory
    public let configPath: String
    private var process: ChildProcess?

    /// Writes the config and starts the broker; waits until it accepts connections.
    /// `persistent` keeps sessions and queued messages across a restart (in the broker's temporary directory).
    /// A port chosen here can be taken by another process between the choice and mosquitto's bind (tests of other
    /// suites start servers on free ports at the same time); then a new one is tried.
    /// `tls`: the listener speaks TLS with the fixture's server certificate and requires a client certificate signed
    /// by its CA. `users`: name -> password; anonymous clients are then refused.
    public init(port: Int? = nil, persistent: Bool = false, tls: TestTLS? = nil, users: [String: String] = [:], extraConfig: String = "") throws {
        directory = TemporaryDirectory(prefix: "ela-mosquitto")
        self.port = port ?? Self.freePort()
        configPath = directory.path + "/mosquitto.conf"
        var extraConfig = extraConfig
        if let tls {
            extraConfig += "\ncafile \(tls.caFile)\ncertfile \(tls.serverCertFile)\nkeyfile \(tls.serverKeyFile)\nrequire_certificate true\n"
        }
        if !users.isEmpty {
            let file = directory.path + "/passwd"
            for (name, password) in users.sorted(by: { $0.key < $1.key }) {
                let create = access(file, F_OK) != 0
                let r = try ChildProcess.run("/usr/bin/mosquitto_passwd", ["-b"] + (create ? ["-c"] : []) + [file, name, password])
                guard r.status == 0 else { throw ChildProcessError(message: "mosquitto_passwd: \(r.stderr)") }
            }
            extraConfig += "\npassword_file \(file)\n"
        }
        anonymous = users.isEmpty
        for attempt in 1...5 {
            writeConfig(persistent: persistent, extraConfig: extraConfig)
            do {
                try start()
                return
            } catch let error as ChildProcessError where port == nil && attempt < 5 && error.message.contains("Address already in use") {
                self.port = Self.freePort()
            }
        }
    }

    private let anonymous: Bool

    private func writeConfig(persistent: Bool, extraConfig: String) {
        let persistence = persistent ? "persistence true\npersistence_location \(directory.path)/" : "persistence false"
        // `user root`: started as root, mosquitto would switch to its own user, which cannot read this 0700 directory
        // (password file, certificates, persistence). Ignored when not root.
        _ = directory.write(
            "mosquitto.conf",
            """
            user root
            listener \(port) 127.0.0.1
            allow_anonymous \(anonymous)
            \(persistence)
            max_queued_messages 0
            max_inflight_messages 0
            log_dest stderr
            log_type error
            log_type warning
            \(extraConfig)

            """)
    }

    /// (Re)starts the broker on the same port.
    public func start() throws {
        guard process == nil else { return }
        let p = try ChildProcess(Self.executable, ["-c", configPath], outputDirectory: directory.path, resetSignals: true)
        process = p
        let up = ChildProcess.waitUntil(timeoutSeconds: 10) { Self.accepts(port: self.port) }
        guard up else {
            p.signal(SIGKILL)
            _ = try? p.wait(timeoutSeconds: 5)
            process = nil
            throw ChildProcessError(message: "mosquitto did not listen on 127.0.0.1:\(port): \(p.stderr)")
        }
    }

    /// Stops the broker (SIGTERM, then SIGKILL) and waits for it.
    public func stop() {
        guard let p = process else { return }
        process = nil
        p.signal(SIGTERM)
        if (try? p.wait(timeoutSeconds: 5)) == nil {
            p.signal(SIGKILL)
            _ = try? p.wait(timeoutSeconds: 5)
        }
    }

    public var isRunning: Bool { process != nil }
    public var stderr: String { process?.stderr ?? "" }

    deinit {
        stop()
        directory.remove()
    }

    /// A port nobody listens on right now (bind to 0, read it back, close).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let len = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } } == 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
public import ElaJSON

/// Why the CLI could not get an answer from the agent.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The system error behind it (a connect's), 0 when there is none.
    public var code: Int32 = 0
    public var description: String { message }
}

/// A blocking client for the control socket (the CLI makes one call and exits; no event loop needed).
public struct ControlClient: Sendable {
    public var socketPath: String
    public var timeoutSeconds: Int

    public init(socketPath: String, timeoutSeconds: Int = 10) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends one request and returns its result, or throws the agent's error (`ControlError`) or a connection error.
    public func call(_ method: String, params: JSONObject = JSONObject()) throws -> JSONValue {
        let fd = try Self.connect(socketPath: socketPath, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }

        let request = ControlRequest(id: 1, method: method, params: params).encoded()
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ControlClientError(message: "write to the agent failed: \(String(cString: strerror(errno)))") }
            sent += n
        }

        var reply: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ControlClientError(message: "no reply from the agent: \(String(cString: strerror(errno)))") }
            if n == 0 { throw ControlClientError(message: "the agent closed the connection without a reply") }
            reply.append(contentsOf: buf[0..<n])
            if let nl = reply.firstIndex(of: 0x0A) {
                let response = try ControlResponse(frame: Array(reply[..<nl]))
                return try response.outcome.get()
            }
            if reply.count > ControlProtocol.maxFrameBytes * 16 {
                throw ControlClientError(message: "reply from the agent is too large")
            }
        }
    }

    /// A blocking connection to the control socket at `socketPath`, with send and receive timeouts; the caller
    /// closes it.
    public static func connect(socketPath: String, timeoutSeconds: Int = 10) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError(message: "socket(): \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw ControlClientError(message: "socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            let reason = String(cString: strerror(code))
            close(fd)
            let hint =
                code == EACCES
                ? "members of the socket's group may use elactl (the package's is ela-agent: sudo adduser $USER ela-agent, then log in again), or use sudo"
                : "is the agent running? set --socket or ELA_AGENT_SOCKET"
            throw ControlClientError(message: "cannot reach ela-agent at \(socketPath): \(reason) (\(hint))", code: code)
        }
        return fd
    }

    /// `--socket`, else `$ELA_AGENT_SOCKET`, else the packaged default.
    public static func defaultSocketPath(explicit: String?) -> String {
        if let explicit { return explicit }
        if let env = getenv("ELA_AGENT_SOCKET"), let s = String(validatingCString: env), !s.isEmpty { return s }
        return "/run/ela-agent/" + ControlProtocol.socketName
    }
}

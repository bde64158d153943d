#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// systemd's service notification protocol (sd_notify(3)) without libsystemd: each state change is one datagram
/// of `KEY=value` lines sent to the socket named by `$NOTIFY_SOCKET`. Outside systemd (no variable) nothing is sent.
struct SystemdNotifier: Sendable {
    /// A filesystem path, or an abstract socket name written with a leading "@".
    let socketPath: String

    init?(environment socketPath: String?) {
        guard let socketPath, socketPath.hasPrefix("/") || socketPath.hasPrefix("@"), socketPath.utf8.count < 108 else {
            return nil
        }
        self.socketPath = socketPath
    }

    static func fromEnvironment() -> SystemdNotifier? {
        SystemdNotifier(environment: getenv("NOTIFY_SOCKET").flatMap { String(validatingCString: $0) })
    }

    /// Sends one notification; false when the socket is gone (systemd restarting, say), which is never fatal.
    @discardableResult
    func send(_ lines: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(socketPath.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in name.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let payload = Array(lines.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == payload.count
    }

    /// How often systemd expects `WATCHDOG=1` (`WatchdogSec=`), if the watchdog is meant for this process.
    static func watchdogInterval() -> TimeAmount? {
        guard let usecText = getenv("WATCHDOG_USEC").flatMap({ String(validatingCString: $0) }),
            let usec = Int64(usecText), usec > 0
        else { return nil }
        if let pidText = getenv("WATCHDOG_PID").flatMap({ String(validatingCString: $0) }), Int32(pidText) != getpid() {
            return nil
        }
        return .microseconds(usec)
    }

    /// Pings the watchdog from `loop` at half the interval systemd asked for. The loop is the one every control and
    /// plugin call runs on, so a wedged loop stops the pings and systemd restarts the agent.
    func startWatchdog(on loop: any EventLoop) -> RepeatedTask? {
        guard let interval = Self.watchdogInterval() else { return nil }
        let period = TimeAmount.nanoseconds(max(interval.nanoseconds / 2, 1_000_000))
        return loop.scheduleRepeatedTask(initialDelay: .zero, delay: period) { _ in send("WATCHDOG=1") }
    }
}

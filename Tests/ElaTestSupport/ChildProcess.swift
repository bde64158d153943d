#if canImport(Glibc)
public import Glibc
#endif

/// A real child process started with posix_spawn (never fork from Swift), its stdout and stderr captured in files.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    private var exitStatus: Int32?

    /// The built products directory (`.build/<triple>/debug`), next to the test bundle.
    public static let productsDirectory: String = {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var parts = exe.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        return parts.joined(separator: "/")
    }()

    public static func product(_ name: String) -> String { productsDirectory + "/" + name }

    /// Starts `path` with `arguments`; `environment` entries are added to (or replace) the inherited ones.
    /// `fd3`: a descriptor the child gets as file descriptor 3 (the plugin protocol's socket).
    /// `resetSignals`: the child starts with no blocked signals and default handlers. Concurrency-pool threads block
    /// signals and posix_spawn passes the mask on, so without this a daemon like mosquitto ignores SIGTERM.
    /// `standardInput`: a file the child reads as its standard input (default /dev/null).
    public init(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], outputDirectory: String, fd3: Int32? = nil,
        resetSignals: Bool = false, standardInput: String = "/dev/null"
    ) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        stdoutPath = outputDirectory + "/stdout-\(tag)"
        stderrPath = outputDirectory + "/stderr-\(tag)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, standardInput, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let fd3 { posix_spawn_file_actions_adddup2(&actions, fd3, 3) }

        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        for (k, v) in environment { env[k] = v }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        if resetSignals {
            var none = sigset_t()
            sigemptyset(&none)
            var all = sigset_t()
            sigfillset(&all)
            posix_spawnattr_setsigmask(&attr, &none)
            posix_spawnattr_setsigdefault(&attr, &all)
            posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        guard rc == 0 else { throw ChildProcessError(message: "posix_spawn \(path): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// Runs to completion and returns (exit status, stdout, stderr). A signal death is reported as 128+signal.
    public static func run(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double = 60
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = TemporaryDirectory(prefix: "ela-proc")
        defer { dir.remove() }
        let child = try ChildProcess(path, arguments, environment: environment, outputDirectory: dir.path)
        let status = try child.wait(timeoutSeconds: timeoutSeconds)
        return (status, child.stdout, child.stderr)
    }

    public var stdout: String { TestData.readString(stdoutPath) ?? "" }
    public var stderr: String { TestData.readString(stderrPath) ?? "" }

    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for exit (killing the child after the timeout); returns the exit status or 128+signal.
    @discardableResult
    public func wait(timeoutSeconds: Double = 30) throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = Self.now() + timeoutSeconds
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw ChildProcessError(message: "waitpid: \(String(cString: strerror(errno)))") }
            if Self.now() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ChildProcessError(message: "process \(pid) did not exit within \(timeoutSeconds) s; killed")
            }
            usleep(10_000)
        }
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        exitStatus = code
        return code
    }

    /// Polls until `condition` holds or the timeout passes.
    public static func waitUntil(timeoutSeconds: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = now() + timeoutSeconds
        while now() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        unlink(stdoutPath)
        unlink(stderrPath)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

public func fileExists(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0
}

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What happens to a spawned plugin process, in order: sandbox report lines (until the launcher execs the plugin),
/// stderr lines (interleaved), then exactly one `exited`.
public enum PluginProcessEvent: Sendable, Equatable {
    case report(String)
    case stderr(String)
    /// Exit status as a shell reports it: the code, or 128 + signal.
    case exited(Int32)
}

/// How to start one plugin process.
public struct PluginLaunch: Sendable {
    /// argv[0] is the program run (the sandbox launcher, or the plugin itself when unsandboxed).
    public var arguments: [String]
    public var environment: [String: String]
    /// The launcher's `--report-fd`: the child's end of the report pipe is placed on this descriptor.
    public var reportFD: Int32?

    public init(arguments: [String], environment: [String: String], reportFD: Int32?) {
        self.arguments = arguments
        self.environment = environment
        self.reportFD = reportFD
    }
}

public struct PluginSpawnError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A running plugin (or its launcher): its pid, the host's end of the protocol socket, and one thread that reads
/// the report and stderr pipes and reaps the process. Started with posix_spawn: the daemon is multithreaded and
/// must never fork.
public final class PluginProcess: Sendable {
    public let pid: Int32
    /// The host's end of the socketpair; the child has the other end as fd 3. Owned by whoever wraps it in a channel.
    public let socket: Int32
    public let events: AsyncStream<PluginProcessEvent>
    private let exitStatus = Mutex<Int32?>(nil)

    /// Longest stderr line kept; longer ones are cut (a plugin must not make the host buffer without bound).
    static let maxLineBytes = 4096

    public init(_ launch: PluginLaunch) throws(PluginSpawnError) {
        guard let program = launch.arguments.first else { throw PluginSpawnError(message: "nothing to run") }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw PluginSpawnError(message: "socketpair: \(errnoText())")
        }
        var errPipe: [Int32] = [-1, -1]
        var reportPipe: [Int32] = [-1, -1]
        guard makePipe(&errPipe) else {
            let m = errnoText()
            pair.forEach { close($0) }
            throw PluginSpawnError(message: "pipe: \(m)")
        }
        if launch.reportFD != nil, !makePipe(&reportPipe) {
            let m = errnoText()
            (pair + errPipe).forEach { close($0) }
            throw PluginSpawnError(message: "pipe: \(m)")
        }
        // Children get their ends via dup2, which clears close-on-exec; keep the sources above the target numbers
        // so dup2 never maps a descriptor onto itself (that would leave FD_CLOEXEC set).
        let childSocket = Self.aboveTargets(pair[1])
        let childErr = Self.aboveTargets(errPipe[1])
        let childReport = reportPipe[1] >= 0 ? Self.aboveTargets(reportPipe[1]) : -1

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, childErr, 1)
        posix_spawn_file_actions_adddup2(&actions, childErr, 2)
        posix_spawn_file_actions_adddup2(&actions, childSocket, 3)
        if let fd = launch.reportFD, childReport >= 0 { posix_spawn_file_actions_adddup2(&actions, childReport, fd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default dispositions and an empty mask: the daemon ignores SIGPIPE and blocks signals for its own handling,
        // which a child would otherwise inherit. A new session keeps a terminal's Ctrl-C away from plugins: the host
        // stops them in order.
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | posixSpawnSetSID))

        let argv = launch.arguments.map { strdup($0) } + [nil]
        let envp = launch.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(childSocket)
        close(childErr)
        if childReport >= 0 { close(childReport) }
        guard rc == 0 else {
            [pair[0], errPipe[0], reportPipe[0]].filter { $0 >= 0 }.forEach { close($0) }
            throw PluginSpawnError(message: "cannot start \(program): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.socket = pair[0]
        let (stream, continuation) = AsyncStream.makeStream(of: PluginProcessEvent.self, bufferingPolicy: .bufferingNewest(4096))
        self.events = stream
        ProcessWatcher.start(pid: pid, report: reportPipe[0], stderr: errPipe[0], continuation: continuation, owner: self)
    }

    /// The exit status once reaped.
    public var exited: Int32? { exitStatus.withLock { $0 } }

    func recordExit(_ status: Int32) { exitStatus.withLock { $0 = status } }

    /// Sends a signal unless the process was already reaped (its pid may then belong to someone else).
    public func signal(_ sig: Int32) {
        exitStatus.withLock { status in
            if status == nil { _ = kill(pid, sig) }
        }
    }

    private static func aboveTargets(_ fd: Int32) -> Int32 {
        guard fd <= 4 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        guard moved >= 0 else { return fd }
        close(fd)
        return moved
    }
}

/// glibc's POSIX_SPAWN_SETSID (spawn.h, only visible with _GNU_SOURCE).
let posixSpawnSetSID: Int32 = 0x80

/// A pipe with both ends close-on-exec (pipe2 is hidden behind _GNU_SOURCE in Swift's Glibc view).
func makePipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// One detached thread per child: poll the report and stderr pipes, split lines, and reap the child with waitpid.
/// Blocking calls stay off Swift's cooperative pool (2 threads on a 2-core board).
enum ProcessWatcher {
    final class Job {
        let pid: pid_t
        var fds: [Int32]
        let continuation: AsyncStream<PluginProcessEvent>.Continuation
        let owner: PluginProcess
        init(pid: pid_t, fds: [Int32], continuation: AsyncStream<PluginProcessEvent>.Continuation, owner: PluginProcess) {
            self.pid = pid
            self.fds = fds
            self.continuation = continuation
            self.owner = owner
        }
    }

    static func start(
        pid: pid_t, report: Int32, stderr: Int32, continuation: AsyncStream<PluginProcessEvent>.Continuation, owner: PluginProcess
    ) {
        let job = Job(pid: pid, fds: [report, stderr], continuation: continuation, owner: owner)
        let raw = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            guard let arg else { return nil }
            ProcessWatcher.run(Unmanaged<Job>.fromOpaque(arg).takeRetainedValue())
            return nil
        }, raw)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            // No thread to watch it: a child nobody reaps or reads would leave its supervisor waiting forever. Kill it
            // and report that exit (the supervisor's restart policy takes it from there).
            Unmanaged<Job>.fromOpaque(raw).release()
            continuation.yield(.stderr("cannot start a watcher thread: \(String(cString: strerror(rc))); killing the plugin"))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            for fd in [report, stderr] where fd >= 0 { close(fd) }
            owner.recordExit(128 + SIGKILL)
            continuation.yield(.exited(128 + SIGKILL))
            continuation.finish()
        }
    }

    static func run(_ job: Job) {
        var partial: [Int32: [UInt8]] = [:]
        var open = job.fds.filter { $0 >= 0 }
        let reportFD = job.fds[0]
        var buffer = [UInt8](repeating: 0, count: 16384)
        var status: Int32 = 0
        var reaped = false
        while !reaped {
            if open.isEmpty {
                while waitpid(job.pid, &status, 0) < 0 && errno == EINTR {}
                reaped = true
                break
            }
            var pfds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            // A timeout so a grandchild that keeps stderr open cannot hide the child's exit.
            let n = poll(&pfds, nfds_t(pfds.count), 1000)
            if n < 0 && errno != EINTR {
                // Stop reading rather than stop watching: the child must still be reaped and its real status told.
                for fd in open { close(fd) }
                open = []
                continue
            }
            for p in pfds where p.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    if let rest = partial[p.fd], !rest.isEmpty { emit(rest, fd: p.fd, reportFD: reportFD, job: job) }
                    partial[p.fd] = nil
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                    continue
                }
                var pending = partial[p.fd] ?? []
                pending.append(contentsOf: buffer[0..<count])
                // Lines are taken from a moving start and the consumed prefix dropped once: removing each line from
                // the front would move the rest every time (quadratic for a child writing bare newlines).
                var lineStart = pending.startIndex
                while let nl = pending[lineStart...].firstIndex(of: 0x0A) {
                    emit(Array(pending[lineStart..<nl]), fd: p.fd, reportFD: reportFD, job: job)
                    lineStart = nl + 1
                }
                pending.removeSubrange(..<lineStart)
                if pending.count > PluginProcess.maxLineBytes {
                    emit(Array(pending.prefix(PluginProcess.maxLineBytes)), fd: p.fd, reportFD: reportFD, job: job)
                    pending.removeAll()
                }
                partial[p.fd] = pending
            }
            if waitpid(job.pid, &status, WNOHANG) == job.pid { reaped = true }
        }
        // Drain what is left in the pipes without waiting for holders that outlive the child.
        for fd in open {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var pending = partial[fd] ?? []
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count <= 0 || pending.count > 65536 { break }
                pending.append(contentsOf: buffer[0..<count])
            }
            for line in pending.split(separator: 0x0A) { emit(Array(line.prefix(PluginProcess.maxLineBytes)), fd: fd, reportFD: reportFD, job: job) }
            close(fd)
        }
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        job.owner.recordExit(code)
        job.continuation.yield(.exited(code))
        job.continuation.finish()
    }

    static func emit(_ bytes: [UInt8], fd: Int32, reportFD: Int32, job: Job) {
        let text = String(decoding: bytes, as: UTF8.self)
        job.continuation.yield(fd == reportFD ? .report(text) : .stderr(text))
    }
}

import ElaSandbox

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `ela-sandbox` launcher built next to this test bundle, with posix_spawn (never fork from Swift).
/// The report pipe is handed to it as fd 5, an optional socket as fd 3, and any extra descriptors as given.
final class SandboxRun: @unchecked Sendable {
    static let reportFD: Int32 = 5

    /// `<package root>/.build/<triple>/debug/ela-sandbox`: the products directory holds this test bundle too.
    static let launcher: String = {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let exe = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            + "/ela-sandbox"
    }()

    let pid: pid_t
    private let reportRead: Int32
    private let outputDirectory: String
    private var reportBytes: [UInt8] = []
    private var reportDone = false
    private var exitStatus: Int32?

    /// Starts `executable` (the launcher unless told otherwise) with `arguments` (everything after argv[0]);
    /// `descriptors` maps target fd -> source fd.
    init(
        _ arguments: [String], executable: String = SandboxRun.launcher, descriptors: [Int32: Int32] = [:],
        outputDirectory: String
    ) throws {
        self.outputDirectory = outputDirectory
        var fds: [Int32] = [0, 0]
        // pipe2 is not visible through Glibc; the tests spawn from one thread at a time, so pipe + FD_CLOEXEC is fine.
        guard pipe(&fds) == 0 else { throw HarnessError("pipe: \(errnoText())") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputDirectory + "/stdout", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, outputDirectory + "/stderr", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Move every source above the targets first: a source numbered 3, 5 or 7 would be overwritten by an
        // earlier dup2 of the spawn actions.
        let sources = [(Self.reportFD, fds[1])] + descriptors.map { ($0.key, $0.value) }
        let moved = sources.map { (target: $0.0, fd: fcntl($0.1, F_DUPFD_CLOEXEC, 100)) }
        defer { moved.forEach { close($0.fd) } }
        for (target, fd) in moved { posix_spawn_file_actions_adddup2(&actions, fd, target) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), strdup("ELA_HARNESS_LEAK=1"), nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw HarnessError("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        self.reportRead = fds[0]
    }

    /// Reads the report until EOF, which comes when the plugin execs (or everything exited).
    func readReport(timeoutSeconds: Double = 20) throws -> String {
        let deadline = now() + timeoutSeconds
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !reportDone {
            var p = pollfd(fd: reportRead, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 50)
            if ready > 0 {
                let n = read(reportRead, &chunk, chunk.count)
                if n > 0 { reportBytes += chunk[0..<n] } else if n == 0 || errno != EINTR { reportDone = true }
            } else if now() > deadline {
                throw HarnessError("no report EOF within \(timeoutSeconds) s; so far: \(reportText)")
            }
        }
        return reportText
    }

    var reportText: String { String(decoding: reportBytes, as: UTF8.self) }
    func report() throws -> SandboxReport { try SandboxReport(lines: readReport()) }

    var stdout: String { readFile(outputDirectory + "/stdout") }
    var stderr: String { readFile(outputDirectory + "/stderr") }

    func signal(_ sig: Int32) { kill(pid, sig) }

    /// Waits for the launcher to exit (killing it after the timeout); returns its exit code, or 128+signal.
    @discardableResult
    func wait(timeoutSeconds: Double = 30) throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = now() + timeoutSeconds
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if now() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                exitStatus = -1
                throw HarnessError("launcher \(pid) still running after \(timeoutSeconds) s; killed")
            }
            usleep(10_000)
        }
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        exitStatus = code
        _ = try? readReport(timeoutSeconds: 5)
        return code
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        close(reportRead)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func errnoText() -> String { String(cString: strerror(errno)) }

func readFile(_ path: String) -> String {
    guard let f = fopen(path, "rb") else { return "" }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        out += chunk[0..<n]
        if n < chunk.count { break }
    }
    return String(decoding: out, as: UTF8.self)
}

func writeFile(_ path: String, _ text: String, mode: mode_t = 0o644) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { return }
    _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    fchmod(fd, mode)
    close(fd)
}

func fileExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

func fileOwner(_ path: String) -> (uid: UInt32, gid: UInt32, mode: UInt32)? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return (st.st_uid, st.st_gid, st.st_mode & 0o7777)
}

/// Directory entries of `path`, sorted, without . and ..
func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let entry = readdir(d) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Removes a directory tree (test scratch only).
func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        for name in listDirectory(path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Mount points of every cgroup hierarchy (v1 and v2), from /proc/self/mounts.
func cgroupMountPoints() -> [String] {
    readFile("/proc/self/mounts").split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ")
        guard fields.count > 2, fields[2] == "cgroup" || fields[2] == "cgroup2" else { return nil }
        return String(fields[1])
    }
}

/// Polls until `condition` holds or the timeout passes.
func waitUntil(timeoutSeconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = now() + timeoutSeconds
    while now() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Host processes whose command line contains `marker`.
func processes(containing marker: String) -> [String] {
    listDirectory("/proc").filter { $0.allSatisfy(\.isNumber) }.filter { pid in
        readFile("/proc/\(pid)/cmdline").contains(marker)
    }
}

let runningAsRoot = getuid() == 0

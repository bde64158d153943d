/// What one plugin's sandbox grants. The daemon builds it from the plugin manifest and turns it into the
/// command line of the `ela-sandbox` launcher (a C program that confines itself, then execs the plugin).
public struct SandboxPolicy: Sendable, Equatable {
    public static let defaultMemoryMB = 128
    public static let defaultPids = 64
    public static let defaultNofile = 256
    public static let defaultCgroupParent = "ela-agent"

    /// Plugin name: 1-64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`. Also the hostname and cgroup name.
    public var name: String
    /// The plugin's own user and group (1...Int32.max, never 0); see ``PluginUserIDs``.
    public var uid: UInt32
    public var gid: UInt32
    /// Writable, private state directory: created if missing, owned by uid:gid, mode 0700.
    public var stateDirectory: String?
    /// Bound read-only (and executable) at the same absolute path: the plugin's own directory, the Swift runtime.
    public var readOnlyPaths: [String]
    /// Bound read-write at the same absolute path.
    public var readWritePaths: [String]
    /// No read-only or read-write path may be, hold or lie inside one of these (checked by the launcher on the real
    /// paths, symlinks resolved): the agent's own state directory.
    public var deniedPaths: [String]
    /// Device nodes or glob patterns (`/dev/gpiochip*`); ones that match nothing are reported, not fatal.
    public var devices: [String]
    /// Keep the host network namespace (otherwise the plugin has no network at all).
    public var network: Bool
    /// cgroup memory limit in MiB; 0 means none.
    public var memoryMB: Int
    /// cgroup pids limit (and RLIMIT_NPROC); 0 means none.
    public var pids: Int
    /// RLIMIT_NOFILE.
    public var nofile: Int
    /// The plugin's cgroup is `<hierarchy>/<cgroupParent>/<name>`.
    public var cgroupParent: String
    /// The plugin's whole environment (nothing is inherited); PATH defaults to `/usr/local/bin:/usr/bin:/bin`.
    public var environment: [String: String]

    public init(
        name: String, uid: UInt32, gid: UInt32, stateDirectory: String? = nil, readOnlyPaths: [String] = [],
        readWritePaths: [String] = [], deniedPaths: [String] = [], devices: [String] = [], network: Bool = false,
        memoryMB: Int = SandboxPolicy.defaultMemoryMB, pids: Int = SandboxPolicy.defaultPids,
        nofile: Int = SandboxPolicy.defaultNofile, cgroupParent: String = SandboxPolicy.defaultCgroupParent,
        environment: [String: String] = [:]
    ) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.stateDirectory = stateDirectory
        self.readOnlyPaths = readOnlyPaths
        self.readWritePaths = readWritePaths
        self.deniedPaths = deniedPaths
        self.devices = devices
        self.network = network
        self.memoryMB = memoryMB
        self.pids = pids
        self.nofile = nofile
        self.cgroupParent = cgroupParent
        self.environment = environment
    }

    /// The full argv for posix_spawn: `launcher` first, then the options, `--`, `executable` and `arguments`.
    /// `reportFD` is the descriptor number the launcher will find its report pipe at (>= 4; 3 is the plugin socket).
    public func launcherArguments(launcher: String, reportFD: Int32?, executable: String, arguments: [String]) -> [String] {
        var argv = [launcher, "--name", name, "--uid", String(uid), "--gid", String(gid)]
        if let stateDirectory { argv += ["--state-dir", stateDirectory] }
        for path in readOnlyPaths { argv += ["--ro", path] }
        for path in readWritePaths { argv += ["--rw", path] }
        for path in deniedPaths { argv += ["--deny", path] }
        for device in devices { argv += ["--device", device] }
        if network { argv.append("--network") }
        argv += ["--memory-mb", String(memoryMB), "--pids", String(pids), "--nofile", String(nofile)]
        argv += ["--cgroup-parent", cgroupParent]
        if let reportFD { argv += ["--report-fd", String(reportFD)] }
        for key in environment.keys.sorted() { argv += ["--env", "\(key)=\(environment[key] ?? "")"] }
        return argv + ["--", executable] + arguments
    }

    /// Checks what the launcher would refuse, so the daemon can say so before spawning anything.
    public func validate() throws(SandboxPolicyError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        func isName(_ s: Substring) -> Bool {
            !s.isEmpty && s.count <= 64 && s.first != "." && s.first != "-" && s.allSatisfy { allowed.contains($0) }
        }
        guard isName(Substring(name)) else { throw .invalidName(name) }
        guard cgroupParent.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isName) else {
            throw .invalidCgroupParent(cgroupParent)
        }
        guard uid != 0, gid != 0 else { throw .rootIdentity }
        guard uid <= UInt32(Int32.max), gid <= UInt32(Int32.max) else { throw .invalidIdentity }
        for path in [stateDirectory].compactMap({ $0 }) + readOnlyPaths + readWritePaths + deniedPaths + devices
        where !path.hasPrefix("/") {
            throw .relativePath(path)
        }
        for key in environment.keys where key.isEmpty || key.contains("=") { throw .invalidEnvironmentKey(key) }
        guard memoryMB >= 0, pids >= 0, nofile >= 16 else { throw .invalidLimit }
    }
}

/// A policy the launcher would refuse.
public enum SandboxPolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidCgroupParent(String)
    case rootIdentity
    case invalidIdentity
    case relativePath(String)
    case invalidEnvironmentKey(String)
    case invalidLimit

    public var description: String {
        switch self {
        case .invalidName(let name):
            "invalid plugin name \"\(name)\": use 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -"
        case .invalidCgroupParent(let parent):
            "invalid cgroup parent \"\(parent)\": names of A-Z a-z 0-9 . _ - separated by /"
        case .rootIdentity: "a plugin never runs as uid or gid 0; assign one with PluginUserIDs"
        case .invalidIdentity: "uid and gid must be in 1...\(Int32.max)"
        case .relativePath(let path): "sandbox paths must be absolute: \"\(path)\""
        case .invalidEnvironmentKey(let key): "invalid environment variable name \"\(key)\""
        case .invalidLimit: "limits must be >= 0 (memory, pids) and nofile >= 16"
        }
    }
}

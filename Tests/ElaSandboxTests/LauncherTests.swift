import ElaSandbox
import ElaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the real launcher with /bin/sh and python3 probes as the plugin. Serialized: the probes measure limits and
/// the machine has few cores. Each test gets its own scratch dir and cgroup parent, removed afterwards.
@Suite(.ownThread, .serialized, .enabled(if: runningAsRoot, "needs root: the launcher builds namespaces and mounts"))
final class LauncherTests {
    let scratch: String
    let cgroupParent = "ela-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init() throws {
        var template = Array("/tmp/ela-sandbox-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        scratch = try #require(made.map { String(cString: $0) })
        chmod(scratch, 0o755)
    }

    deinit {
        removeTree(scratch)
        for mount in cgroupMountPoints() {
            let parent = mount + "/" + cgroupParent
            for name in listDirectory(parent) { rmdir(parent + "/" + name) }  // leftover leaves (fails on files)
            rmdir(parent)
        }
    }

    func policy(_ name: String, uid: UInt32 = 61001, _ configure: (inout SandboxPolicy) -> Void = { _ in }) -> SandboxPolicy {
        var policy = SandboxPolicy(name: name, uid: uid, gid: uid, cgroupParent: cgroupParent)
        configure(&policy)
        return policy
    }

    func start(
        _ policy: SandboxPolicy, _ executable: String, _ arguments: [String], descriptors: [Int32: Int32] = [:]
    ) throws -> SandboxRun {
        let argv = policy.launcherArguments(
            launcher: SandboxRun.launcher, reportFD: SandboxRun.reportFD, executable: executable, arguments: arguments)
        let output = scratch + "/out-\(policy.name)-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(output, 0o700)
        return try SandboxRun(Array(argv.dropFirst()), descriptors: descriptors, outputDirectory: output)
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var report: SandboxReport
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    func run(_ policy: SandboxPolicy, _ executable: String, _ arguments: [String]) throws -> Outcome {
        let process = try start(policy, executable, arguments)
        let status = try process.wait(timeoutSeconds: 60)
        return Outcome(status: status, stdout: process.stdout, stderr: process.stderr, report: try process.report())
    }

    func sh(_ policy: SandboxPolicy, _ script: String) throws -> Outcome { try run(policy, "/bin/sh", ["-c", script]) }
    func python(_ policy: SandboxPolicy, _ script: String) throws -> Outcome {
        try run(policy, "/usr/bin/python3", ["-c", script])
    }

    // MARK: - Report

    @Test func reportsEveryLayerAndRemovesItsCgroup() throws {
        let outcome = try sh(policy("layers"), "exit 3")
        #expect(outcome.status == 3)
        #expect(outcome.report.missingLayers == [])
        #expect(outcome.report.layers.filter { $0.state == .failed } == [])
        #expect(outcome.report.layers.map(\.name) == SandboxReport.layerNames)
        #expect(outcome.report.execPath == "/bin/sh")
        #expect(outcome.report.error == nil)
        print("sandbox on this host: \(outcome.report.summary)")
        for layer in outcome.report.layers { print("  \(layer.name): \(layer.state.rawValue): \(layer.detail)") }
        // The parent too, once its last plugin is gone (an agent's stop left one per state dir behind).
        for mount in cgroupMountPoints() { #expect(!fileExists("\(mount)/\(cgroupParent)")) }
    }

    @Test func theParentStaysWhileAnotherPluginIsInIt() throws {
        let long = try start(policy("long"), "/bin/sh", ["-c", "sleep 3"])
        // The hierarchies that hold the plugin's cgroup (memory and pids).
        var holding: [String] = []
        #expect(waitUntil { holding = cgroupMountPoints().filter { fileExists("\($0)/\(cgroupParent)/long") }; return !holding.isEmpty })
        let short = try sh(policy("short"), "exit 0")
        #expect(short.status == 0)
        for mount in holding {
            #expect(fileExists("\(mount)/\(cgroupParent)/long") && !fileExists("\(mount)/\(cgroupParent)/short"))
        }
        #expect(try long.wait(timeoutSeconds: 30) == 0)
        for mount in cgroupMountPoints() { #expect(!fileExists("\(mount)/\(cgroupParent)")) }
    }

    // MARK: - Identity, namespaces, environment

    @Test func runsAsThePluginUserInItsOwnNamespaces() throws {
        let outcome = try sh(
            policy("ident", uid: 61002) { $0.environment = ["FOO": "bar baz"] },
            #"id -u; id -g; id -G; id -un; echo $$; hostname; echo "$FOO"; echo "$PATH"; env | grep -c ELA_HARNESS"#)
        #expect(outcome.status == 1)  // grep -c found nothing: the launcher's environment does not leak
        #expect(outcome.lines == ["61002", "61002", "61002", "ident", "2", "ident", "bar baz", "/usr/local/bin:/usr/bin:/bin", "0"])
    }

    @Test func capabilitiesAndNoNewPrivs() throws {
        let outcome = try sh(policy("caps"), "grep -E '^(Cap(Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status")
        let fields = Dictionary(
            outcome.lines.map { line in
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingPrefix(while: \.isWhitespace) }
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            }, uniquingKeysWith: { a, _ in a })
        for cap in ["CapPrm", "CapEff", "CapBnd", "CapAmb"] { #expect(fields[cap] == "0000000000000000", "\(cap)") }
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
    }

    // MARK: - Filesystem view

    @Test func seesOnlyWhatWasGranted() throws {
        let state = scratch + "/state/sub"  // created by the launcher
        let readOnly = scratch + "/ro"
        let readWrite = scratch + "/rw"
        mkdir(readOnly, 0o755)
        writeFile(readOnly + "/probe.sh", "#!/bin/sh\necho probe ran\n", mode: 0o755)
        writeFile(readOnly + "/data.txt", "not a program\n", mode: 0o644)
        mkdir(readWrite, 0o755)
        chown(readWrite, 61003, 61003)
        let script = """
            ls /; echo --; ls /etc; echo --
            cat /etc/shadow 2>/dev/null && echo shadow-readable || echo shadow-hidden
            touch /x 2>/dev/null && echo root-writable || echo root-readonly
            touch /usr/x 2>/dev/null && echo usr-writable || echo usr-readonly
            echo data > \(state)/file && echo state-ok
            \(readOnly)/probe.sh
            touch \(readOnly)/x 2>/dev/null && echo ro-writable || echo ro-readonly
            echo data > \(readWrite)/file && echo rw-ok
            echo data > /tmp/file && echo tmp-ok
            cp /bin/true /tmp/t && /tmp/t 2>/dev/null && echo tmp-exec || echo tmp-noexec
            cp /bin/true \(state)/t && \(state)/t 2>/dev/null && echo state-exec || echo state-noexec
            cp /bin/true \(readWrite)/t && \(readWrite)/t 2>/dev/null && echo rw-exec || echo rw-noexec
            pwd
            """
        let outcome = try sh(
            policy("files", uid: 61003) {
                $0.stateDirectory = state
                $0.readOnlyPaths = [readOnly]
                $0.readWritePaths = [readWrite]
            }, script)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let sections = outcome.stdout.split(separator: "--\n", omittingEmptySubsequences: false).map {
            $0.split(separator: "\n").map(String.init)
        }
        try #require(sections.count == 3)
        let systemDirs = ["/usr", "/bin", "/sbin", "/lib", "/lib64"].filter(fileExists).map { String($0.dropFirst()) }
        #expect(sections[0] == (systemDirs + ["dev", "etc", "proc", "tmp"]).sorted())
        let copied = ["ld.so.cache", "ld.so.conf", "localtime", "nsswitch.conf"].filter { fileExists("/etc/" + $0) }
        #expect(sections[1] == (copied + ["group", "hostname", "passwd"]).sorted())
        #expect(
            sections[2] == [
                "shadow-hidden", "root-readonly", "usr-readonly", "state-ok", "probe ran", "ro-readonly", "rw-ok",
                "tmp-ok", "tmp-noexec", "state-noexec", "rw-noexec", state,
            ])
        let file = try #require(fileOwner(state + "/file"))
        #expect(file.uid == 61003 && file.gid == 61003 && file.mode == 0o600)  // umask 077
        let dir = try #require(fileOwner(state))
        #expect(dir.uid == 61003 && dir.gid == 61003 && dir.mode == 0o700)
        #expect(fileOwner(readWrite + "/file")?.uid == 61003)
        #expect(!fileExists(scratch + "/tmp/file") && !fileExists("/x"))

        // A granted file that is not executable: exit 126 after the exec line.
        let noexec = try run(policy("noexec", uid: 61003) { $0.readOnlyPaths = [readOnly] }, readOnly + "/data.txt", [])
        #expect(noexec.status == 126)
        #expect(noexec.report.error?.contains("Permission denied") == true)
    }

    /// systemd starts the agent with UMask=0077, which the launcher inherits: the sandbox's /etc and the parents of
    /// its mount points must still be open to the plugin's uid (a 0700 /var in the sandbox failed every plugin with a
    /// state dir). Run through `sh -c 'umask 077; exec launcher ...'` (umask is per process: the test's own stays).
    @Test func aDaemonUmaskOf077DoesNotCloseTheSandbox() throws {
        let state = scratch + "/umask/deep/state"
        let argv = policy("umask", uid: 61006) { $0.stateDirectory = state }.launcherArguments(
            launcher: SandboxRun.launcher, reportFD: SandboxRun.reportFD, executable: "/bin/sh",
            arguments: ["-c", "cat /etc/passwd > /dev/null && echo etc-ok; ls -ld /etc | cut -c1-10; echo x > \(state)/f && echo state-ok"])
        let output = scratch + "/out-umask"
        mkdir(output, 0o700)
        let process = try SandboxRun(["-c", #"umask 077 && exec "$0" "$@""#] + argv, executable: "/bin/sh", outputDirectory: output)
        #expect(try process.wait(timeoutSeconds: 60) == 0, "\(process.stderr)")
        #expect(process.stdout.split(separator: "\n") == ["etc-ok", "drwxr-xr-x", "state-ok"], "\(process.stdout)")
    }

    @Test func grantsOnlyTheListedDevices() throws {
        // Two harmless nodes (/dev/zero's number) and a third the glob does not name.
        var zero = stat()
        try #require(stat("/dev/zero", &zero) == 0)
        let prefix = "/dev/ela-test-grant-\(getpid())-"
        for n in 0..<3 {
            unlink(prefix + "\(n)")
            try #require(mknod(prefix + "\(n)", S_IFCHR | 0o600, zero.st_rdev) == 0, "mknod: \(String(cString: strerror(errno)))")
        }
        defer { for n in 0..<3 { unlink(prefix + "\(n)") } }
        let granted = [prefix + "0", prefix + "1"]
        let outcome = try sh(policy("devs") { $0.devices = [prefix + "[01]", "/dev/ela-missing-*"] }, "ls /dev")
        #expect(outcome.status == 0)
        let basic = ["fd", "full", "null", "random", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]
        #expect(outcome.lines == (basic + granted.map { String($0.dropFirst(5)) }).sorted())
        let detail = try #require(outcome.report.layer("devices")).detail
        #expect(detail.contains("missing: /dev/ela-missing-*"), "\(detail)")
        if !granted.isEmpty { #expect(detail.contains("granted: " + granted.joined(separator: " "))) }
    }

    /// A block device (a disk, the SD card) or a memory device owned by the plugin would be root on the host: the
    /// launcher refuses them whatever it is asked.
    /// Consoles and terminals too: a plugin holding one could read an admin's login and print fake prompts.
    @Test(
        arguments: [
            ("block", S_IFBLK, 7, 0), ("mem", S_IFCHR, 1, 1), ("kmsg", S_IFCHR, 1, 11), ("console", S_IFCHR, 5, 1),
            ("ptmx", S_IFCHR, 5, 2), ("vt", S_IFCHR, 4, 1),
        ] as [(String, UInt32, UInt32, UInt32)])
    func blockMemoryAndConsoleDevicesAreRefused(_ kind: String, _ type: UInt32, _ major: UInt32, _ minor: UInt32) throws {
        let node = "/dev/ela-test-\(kind)-\(getpid())"
        unlink(node)
        let device = dev_t(major & 0xfff) << 8 | dev_t(minor & 0xff) | dev_t(minor & ~0xff) << 12
        try #require(mknod(node, type | 0o600, device) == 0, "mknod \(node): \(String(cString: strerror(errno)))")
        defer { unlink(node) }
        let outcome = try sh(policy("refuse-\(kind)", uid: 61005) { $0.devices = [node] }, "ls /dev")
        #expect(outcome.status == 125)
        #expect(outcome.lines.isEmpty)
        let layer = try #require(outcome.report.layer("devices"))
        #expect(layer.state == .failed && layer.detail.contains("not granted"), "\(layer)")
    }

    /// A serial port the kernel writes its console to (from /proc/consoles, where this machine has one) is a login.
    @Test func theKernelsConsolePortIsRefused() throws {
        let consoles = readFile("/proc/consoles")
        let numbers = consoles.split(separator: "\n").compactMap { $0.split(separator: " ").last }.compactMap { field -> (UInt32, UInt32)? in
            let parts = field.split(separator: ":").compactMap { UInt32($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        guard let (major, minor) = numbers.first(where: { !($0.0 == 4 && $0.1 < 64) && $0.0 != 5 }) else {
            print("no serial console on this machine: nothing to check")
            return
        }
        let node = "/dev/ela-test-console-\(getpid())"
        unlink(node)
        let device = dev_t(major & 0xfff) << 8 | dev_t(minor & 0xff) | dev_t(minor & ~0xff) << 12
        try #require(mknod(node, S_IFCHR | 0o600, device) == 0)
        defer { unlink(node) }
        let outcome = try sh(policy("refuse-serial-console", uid: 61005) { $0.devices = [node] }, "ls /dev")
        #expect(outcome.status == 125)
        let layer = try #require(outcome.report.layer("devices"))
        #expect(layer.state == .failed && layer.detail.contains("console"), "\(layer)")
    }

    /// Found in the qemu gpio-sim guest: /dev/gpiochipN is root-only (devtmpfs; root:gpio 0660 with udev), so a bound
    /// host node was granted but could never be opened by the plugin's uid. The launcher makes its own node.
    @Test func aRootOnlyDeviceNodeIsUsableByThePluginAndTheHostNodeIsUntouched() throws {
        var zero = stat()
        try #require(stat("/dev/zero", &zero) == 0)
        let node = "/dev/ela-test-zero-\(getpid())"
        unlink(node)
        try #require(mknod(node, S_IFCHR | 0o600, zero.st_rdev) == 0, "mknod \(node): \(String(cString: strerror(errno)))")
        defer { unlink(node) }
        let major = (zero.st_rdev >> 8) & 0xfff, minor = (zero.st_rdev & 0xff) | ((zero.st_rdev >> 12) & 0xfff00)
        let outcome = try sh(
            policy("devnode", uid: 61004) { $0.devices = [node] },
            "stat -c '%u:%g %a %F %t:%T' \(node) && head -c 3 \(node) | od -An -tx1 && ls /sys | paste -sd' ' && cat /sys/dev/char/\(major):\(minor)/dev")
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.lines.first == "61004:61004 600 character special file \(String(major, radix: 16)):\(String(minor, radix: 16))", "\(outcome.lines)")
        #expect(outcome.lines.dropFirst().first?.split(separator: " ") == ["00", "00", "00"], "\(outcome.lines)")
        // Its sysfs description (libgpiod 1.6 checks a gpiochip against it) and nothing else of the host's /sys.
        #expect(outcome.lines.dropFirst(2) == ["dev devices", "\(major):\(minor)"], "\(outcome.lines)")
        var host = stat()
        try #require(stat(node, &host) == 0)
        #expect(host.st_uid == 0 && host.st_mode & 0o777 == 0o600, "the host's node must keep its owner and mode")
    }

    /// The host's /proc, /dev, /run and a denied path (the agent's state) never show through, however the path to
    /// them is spelled: checked on the real path, symlinks resolved.
    @Test func hostOnlyAndDeniedPathsAreRefusedOnTheirRealPath() throws {
        let dir = TemporaryDirectory(prefix: "ela-deny")
        defer { dir.remove() }
        #expect(symlink("/proc", dir.path + "/looks-harmless") == 0)
        #expect(mkdir(dir.path + "/state", 0o700) == 0 && mkdir(dir.path + "/state/inner", 0o700) == 0)
        let cases: [(String, [String], [String])] = [
            ("symlink", [dir.path + "/looks-harmless"], []),
            ("slashes", ["//run"], []),
            ("dots", ["/dev/./shm/.."], []),
            ("holds-denied", [dir.path], [dir.path + "/state"]),
            ("inside-denied", [dir.path + "/state/inner"], [dir.path + "/state"]),
        ]
        for (name, readOnly, denied) in cases {
            let outcome = try sh(policy("deny-\(name)") { $0.readOnlyPaths = readOnly; $0.deniedPaths = denied }, "echo ran")
            #expect(outcome.status == 125 && outcome.lines.isEmpty, "\(name): \(outcome.stdout)")
            let error = outcome.report.error ?? ""
            #expect(error.contains("never granted") || error.contains("denied"), "\(name): \(error)")
        }
        // A path next to the denied one is fine.
        #expect(mkdir(dir.path + "/other", 0o755) == 0)
        let fine = try sh(policy("deny-fine") { $0.readOnlyPaths = [dir.path + "/other"]; $0.deniedPaths = [dir.path + "/state"] }, "echo ran")
        #expect(fine.status == 0 && fine.lines == ["ran"], "\(fine.stderr)")
    }

    // MARK: - Network

    @Test func noNetworkUnlessGranted() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = UInt16(bigEndian: address.sin_port)
        let probe = """
            import socket
            s = socket.socket()
            s.settimeout(3)
            try:
                s.connect(('127.0.0.1', \(port)))
                print('connected')
            except OSError as e:
                print('failed', e.errno)
            """
        let isolated = try python(policy("nonet"), probe)
        #expect(isolated.lines.first?.hasPrefix("failed") == true, "\(isolated.stdout)")
        #expect(isolated.report.layer("net_ns")?.state == .active)

        let granted = try python(policy("net") { $0.network = true }, probe)
        #expect(granted.lines == ["connected"])
        #expect(granted.report.layer("net_ns") == SandboxLayer(name: "net_ns", state: .off, detail: "network granted"))
    }

    @Test func aPluginWithTheNetworkCannotReachTheHostsAbstractSockets() throws {
        // An abstract unix socket in the host's network namespace (D-Bus, systemd and X11 listen on some).
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        let name = "ela-test-abstract-\(getpid())"
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in name.utf8.enumerated() { raw[i + 1] = byte }  // sun_path[0] = 0: abstract
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + 1 + name.utf8.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 8) == 0 }
        }
        try #require(bound)
        let probe = """
            import socket
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect('\\0\(name)')
                print('connected')
            except OSError as e:
                print('failed', e.errno)
            """
        let outcome = try python(policy("abstract") { $0.network = true }, probe)
        let landlock = try #require(outcome.report.layer("landlock"))
        if landlock.state == .active && landlock.detail.contains("scoped:") {
            #expect(outcome.lines == ["failed 1"], "\(outcome.stdout) \(outcome.stderr)")  // EPERM
        } else {
            print("Landlock scopes not available here: \(landlock.detail)")
            #expect(landlock.state != .active || landlock.detail.contains("not scoped"))
        }
    }

    // MARK: - seccomp and Landlock

    @Test func seccompDeniesTheListedSyscalls() throws {
        let outcome = try python(
            policy("seccomp"),
            """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            def show(name, r):
                print(name, r, ctypes.get_errno() if r == -1 else 0)
            show('ptrace', libc.ptrace(0, 0, None, None))
            show('unshare', libc.unshare(0x10000000))
            show('personality', libc.personality(0x0040000))
            print('query', libc.personality(0xffffffff))
            r = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)
            if r == 0:
                os._exit(0)
            show('clone', r)
            show('clone3', libc.syscall(435, None, 0))
            """)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(
            outcome.lines == [
                "ptrace -1 1", "unshare -1 1", "personality -1 1", "query 0", "clone -1 1", "clone3 -1 38",
            ])
        let unshare = try run(policy("unshare"), "/usr/bin/unshare", ["-U", "/bin/true"])
        #expect(unshare.status != 0)
    }

    @Test func landlockKeepsProcReadOnly() throws {
        // /proc/self/comm is writable by its own process; only Landlock (read-only beneath /proc) forbids it.
        let outcome = try sh(policy("landlock"), "echo renamed > /proc/self/comm && echo written || echo denied")
        let layer = try #require(outcome.report.layer("landlock"))
        if layer.state == .active {
            #expect(outcome.lines == ["denied"])
        } else {
            print("Landlock not active on this host: \(layer.detail)")
            #expect(layer.state == .unavailable && !layer.detail.isEmpty)
        }
    }

    // MARK: - Limits

    @Test func pidsLimitContainsAForkBomb() throws {
        let started = now()
        let outcome = try python(
            // RLIMIT_NPROC counts every thread of the uid system-wide: a uid that no agent started by a parallel test
            // hands out (those count up from 61000), or another test's plugin threads would use up the 16 first.
            policy("forkbomb", uid: 61170) { $0.pids = 16 },
            """
            import os, time
            n = 0
            try:
                while n < 1000:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                    n += 1
            except OSError as e:
                print('stopped', n, e.errno)
            """)
        #expect(outcome.report.layer("cgroup")?.state == .active)
        let words = outcome.lines.first?.split(separator: " ") ?? []
        try #require(words.count == 3 && words[0] == "stopped", "\(outcome.stdout) \(outcome.stderr)")
        let forked = try #require(Int(words[1]))
        #expect(forked >= 1 && forked < 16)
        #expect(words[2] == "11")  // EAGAIN
        #expect(outcome.status == 0)
        #expect(now() - started < 30)  // the sleeping children died with the pid namespace
    }

    @Test func memoryLimitKillsAGreedyPlugin() throws {
        let outcome = try python(
            policy("greedy") { $0.memoryMB = 32 },
            "b = bytearray(b'x') * (200 << 20)\nprint('allocated', len(b))")
        #expect(outcome.report.layer("cgroup")?.state == .active)
        #expect(outcome.status == 137)
        #expect(!outcome.stdout.contains("allocated"))
    }

    // MARK: - Signals and process tree

    @Test func sigtermReachesThePlugin() throws {
        let plain = try start(policy("term"), "/usr/bin/sleep", ["30"])
        #expect(try SandboxReport(lines: plain.readReport()).execPath == "/usr/bin/sleep")
        usleep(100_000)
        plain.signal(SIGTERM)
        #expect(try plain.wait(timeoutSeconds: 10) == 143)

        let trapping = try start(
            policy("trap"), "/bin/sh", ["-c", "trap 'echo got-term; exit 7' TERM; echo ready; sleep 30 & wait"])
        _ = try trapping.readReport()
        #expect(waitUntil { trapping.stdout.contains("ready") })
        trapping.signal(SIGTERM)
        #expect(try trapping.wait(timeoutSeconds: 10) == 7)
        #expect(trapping.stdout.contains("got-term"))
    }

    @Test func sigkillLeavesNoStrayProcess() throws {
        let marker = "ela-marker-\(UInt64.random(in: 0...UInt64.max))"
        let process = try start(
            policy("killed"), "/usr/bin/python3", ["-c", "import os, time\nos.fork()\ntime.sleep(120)  # \(marker)"])
        _ = try process.readReport()
        // launcher, init, the plugin and its child all carry the marker in their command line
        #expect(waitUntil { processes(containing: marker).count >= 4 })
        process.signal(SIGKILL)
        #expect(try process.wait(timeoutSeconds: 10) == 137)
        #expect(waitUntil { processes(containing: marker).isEmpty }, "left: \(processes(containing: marker))")

        // The SIGKILLed launcher could not remove its cgroup; the next launch with that name cleans it up.
        let again = try sh(policy("killed"), "exit 0")
        #expect(again.status == 0 && again.report.layer("cgroup")?.state != .failed)
        for mount in cgroupMountPoints() { #expect(!fileExists("\(mount)/\(cgroupParent)/killed")) }
    }

    @Test func outlivesTheSpawningThreadButNotTheDaemon() throws {
        // A stand-in daemon spawns the launcher from a thread that exits right away (as Dispatch workers do), then
        // dies by SIGKILL. PR_SET_PDEATHSIG would kill the plugin at the thread's exit; the pidfd watch must not.
        let marker = "ela-marker-\(UInt64.random(in: 0...UInt64.max))"
        let argv = policy("orphan").launcherArguments(
            launcher: SandboxRun.launcher, reportFD: nil, executable: "/usr/bin/python3",
            arguments: ["-c", "import time\ntime.sleep(120)  # \(marker)"])
        let daemon = """
            import subprocess, sys, threading, time
            def spawn():
                subprocess.Popen(sys.argv[1:])
                time.sleep(0.3)  # outlive the launcher's start-up, then exit
            threading.Thread(target=spawn).start()
            time.sleep(120)
            """
        let output = scratch + "/daemon"
        mkdir(output, 0o700)
        let process = try SandboxRun(["-c", daemon] + argv, executable: "/usr/bin/python3", outputDirectory: output)
        // daemon, launcher, init and plugin all carry the marker
        #expect(waitUntil { processes(containing: marker).count >= 4 })
        usleep(800_000)  // the spawning thread is gone
        #expect(processes(containing: marker).count >= 4)
        process.signal(SIGKILL)
        #expect(try process.wait(timeoutSeconds: 10) == 137)
        #expect(waitUntil { processes(containing: marker).isEmpty }, "left: \(processes(containing: marker))")
        for mount in cgroupMountPoints() {
            #expect(waitUntil { !fileExists("\(mount)/\(cgroupParent)/orphan") })
        }
    }

    // MARK: - File descriptors

    @Test func fd3PassesThroughAndNothingElse() throws {
        var pair: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        defer { close(pair[0]) }
        let extra = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(extra) }
        let script = """
            for fd in 3 5 7; do if [ -e /proc/self/fd/$fd ]; then echo fd$fd open; else echo fd$fd closed; fi; done
            read line <&3; echo "got:$line" >&3
            """
        let process = try start(policy("fds"), "/bin/sh", ["-c", script], descriptors: [3: pair[1], 7: extra])
        close(pair[1])
        _ = Array("hello\n".utf8).withUnsafeBytes { send(pair[0], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        var byte: UInt8 = 0
        var p = pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)
        while reply.last != 10, poll(&p, 1, 10_000) > 0, read(pair[0], &byte, 1) == 1 { reply.append(byte) }
        #expect(String(decoding: reply, as: UTF8.self) == "got:hello\n")
        #expect(try process.wait() == 0)
        #expect(process.stdout == "fd3 open\nfd5 closed\nfd7 closed\n")
        #expect(read(pair[0], &byte, 1) == 0)  // EOF: neither the launcher nor init kept a copy of fd 3
    }

    // MARK: - Refusals and exec failures

    @Test func exitCodesForFailures() throws {
        let missing = try run(policy("missing"), "/nonexistent/plugin", [])
        #expect(missing.status == 127)
        #expect(missing.report.execPath == "/nonexistent/plugin")
        #expect(missing.report.error == "execve /nonexistent/plugin: No such file or directory")

        for (arguments, message) in [
            (["--name", "r", "--uid", "0", "--gid", "0"], "refusing uid/gid 0"),
            (["--name", "r", "--uid", "61001", "--gid", "61001", "--bogus", "x"], "unknown option"),
            (["--name", "../r", "--uid", "61001", "--gid", "61001"], "--name"),
            (["--name", "r", "--uid", "61001", "--gid", "61001", "--ro", "/nonexistent-ro"], "--ro /nonexistent-ro"),
        ] {
            let output = scratch + "/refusal-\(UInt32.random(in: 0...UInt32.max))"
            mkdir(output, 0o700)
            let process = try SandboxRun(
                arguments + ["--report-fd", "5", "--cgroup-parent", cgroupParent, "--", "/bin/true"],
                outputDirectory: output)
            #expect(try process.wait() == 125)
            let report = try process.report()
            #expect(report.error?.contains(message) == true, "\(report.error ?? "no error")")
            #expect(report.execPath == nil)
            #expect(process.stderr.hasPrefix("ela-sandbox: "))
        }
    }

    @Test func allowRootKeepsUidZeroButNoCapabilities() throws {
        let process = try SandboxRun(
            [
                "--name", "rooty", "--uid", "0", "--gid", "0", "--allow-root", "--report-fd", "5", "--cgroup-parent",
                cgroupParent, "--", "/bin/sh", "-c", "id -u; grep CapEff /proc/self/status",
            ], outputDirectory: scratch)
        #expect(try process.wait() == 0)
        #expect(process.stdout == "0\nCapEff:\t0000000000000000\n")
        #expect(try process.report().layer("user")?.detail.contains("--allow-root") == true)
    }
}

@Suite(.ownThread) struct UnprivilegedLauncherTests {
    @Test(.enabled(if: !runningAsRoot, "only meaningful when not root"))
    func refusesWithoutRoot() throws {
        print("not root: only checking that the launcher refuses; the sandbox tests need root")
        var template = Array("/tmp/ela-sandbox-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let output = try #require(made.map { String(cString: $0) })
        defer { removeTree(output) }
        let process = try SandboxRun(
            ["--name", "p", "--uid", "61001", "--gid", "61001", "--report-fd", "5", "--", "/bin/true"],
            outputDirectory: output)
        #expect(try process.wait() == 125)
        #expect(try process.report().error?.contains("must run as root") == true)
    }

    @Test func launcherWasBuilt() {
        #expect(fileExists(SandboxRun.launcher), "build the ela-sandbox target first: \(SandboxRun.launcher)")
    }
}

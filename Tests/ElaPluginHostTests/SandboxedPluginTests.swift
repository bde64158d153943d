#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaPluginHost
import ElaSandbox
import ElaTestSupport
import Testing

/// The hostile plugin inside the real sandbox (`ela-sandbox`): each escape attempt fails or is contained, and the
/// supervisor keeps going. Needs root for the uid switch and cgroups (CI runs as root); otherwise it checks only
/// that the host survives.
@Suite(.serialized) struct SandboxedPluginTests {
    static let launcher = ChildProcess.product("ela-sandbox")
    static var isRoot: Bool { getuid() == 0 }

    func start(_ dir: TemporaryDirectory) async throws -> PluginSupervisor {
        let s = try PluginSupervisorTests.hostile(launcher: Self.launcher, state: dir)
        await s.start()
        let st = await PluginSupervisorTests.waitFor(s, .running)
        try #require(st.state == .running, "\(s.logs().map(\.text))")
        return s
    }

    func probe(_ s: PluginSupervisor, _ what: String, _ extra: JSONObject = [:]) async -> JSONObject? {
        var params = extra
        params["what"] = .string(what)
        return try? await s.call("hostile.probe", params, timeoutSeconds: 20).get().objectValue
    }

    @Test func everyLayerIsReportedAndTheUserIsConfined() async throws {
        let dir = TemporaryDirectory(prefix: "ela-sbx")
        defer { dir.remove() }
        let s = try await start(dir)
        // The report is complete once the launcher reached exec (before the handshake could be answered).
        let st = await s.status()
        let report = try #require(st.sandbox)
        #expect(report.execPath != nil)
        #expect(report.missingLayers.isEmpty, "layers not reported: \(report.missingLayers)")
        print("sandbox on this machine: \(report.summary)")
        for l in report.layers { print("  \(l.name): \(l.state.rawValue) \(l.detail)") }
        if Self.isRoot {
            for name in ["user", "no_new_privs", "mount_ns", "pid_ns", "ipc_ns", "uts_ns", "net_ns", "filesystem", "seccomp", "rlimits"] {
                #expect(report.layer(name)?.state == .active, "\(name): \(String(describing: report.layer(name)))")
            }
            let id = await probe(s, "identity")?["result"]?.objectValue
            #expect(id?["uid"] == 61900)
            #expect(id?["pid"] == 2)  // pid 1 is the launcher's init in the new pid namespace
            #expect(id?["hostname"] == "hostile")
        }
        await s.stop()
    }

    @Test func escapeAttemptsFail() async throws {
        try #require(Self.isRoot, "the full sandbox needs root")
        let dir = TemporaryDirectory(prefix: "ela-sbx")
        defer { dir.remove() }
        let s = try await start(dir)

        let shadow = await probe(s, "shadow")
        #expect(shadow?["ok"] == false, "read /etc/shadow: \(String(describing: shadow))")
        let outside = await probe(s, "write_outside")
        #expect(outside?["ok"] == false, "wrote outside: \(String(describing: outside))")
        let inside = await probe(s, "write_state")
        #expect(inside?["ok"] == true, "state dir: \(String(describing: inside))")
        var st = stat()
        #expect(stat(dir.path + "/plugins/hostile/probe.txt", &st) == 0 && st.st_uid == 61900)

        // A listener on the host's loopback is unreachable without the network grant.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
        listen(listener, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let tcp = await probe(s, "tcp", ["port": .number(JSONNumber(port))])
        #expect(tcp?["ok"] == false, "tcp: \(String(describing: tcp))")

        // ptrace on the daemon (this test process) and on itself's parent.
        let ptrace = await probe(s, "ptrace", ["pid": .number(JSONNumber(Int(getpid())))])
        #expect(ptrace?["ok"] == false, "ptrace: \(String(describing: ptrace))")
        let ptraceInit = await probe(s, "ptrace", ["pid": 1])
        #expect(ptraceInit?["ok"] == false, "ptrace pid 1: \(String(describing: ptraceInit))")

        // A fork bomb stops at the pids limit (16 in the manifest).
        let bomb = await probe(s, "fork_bomb")
        #expect(bomb?["ok"] == false, "fork bomb: \(String(describing: bomb))")
        if let e = bomb?["error"]?.stringValue, let n = e.split(separator: " ").compactMap({ Int($0) }).first {
            #expect(n < 16)
        }
        #expect(await s.status().state == .running)
        await s.stop()
    }

    @Test func theMemoryLimitKillsThePluginNotTheHost() async throws {
        try #require(Self.isRoot, "cgroups need root")
        let dir = TemporaryDirectory(prefix: "ela-sbx")
        defer { dir.remove() }
        let s = try await start(dir)
        let first = await s.status()
        let report = try #require(first.sandbox)
        try #require(report.layer("cgroup")?.state == .active, "no cgroup here: \(String(describing: report.layer("cgroup")))")
        // 200 MB against a 48 MB limit: the kernel's OOM killer ends the plugin; the host restarts it.
        let r = await s.call("hostile.probe", ["what": "memory", "mb": 200], timeoutSeconds: 20)
        #expect(r == .failure(.disconnected(plugin: "hostile")), "\(r)")
        let st = await PluginSupervisorTests.waitRestarted(s, restarts: 1)
        #expect(st.state == .running)
        #expect(st.lastExit == 128 + SIGKILL || st.lastExit == 137, "\(String(describing: st.lastExit))")
        await s.stop()
    }

    @Test func stopLeavesNoProcessBehind() async throws {
        let dir = TemporaryDirectory(prefix: "ela-sbx")
        defer { dir.remove() }
        let s = try await start(dir)
        let pid = try #require(await s.status().pid)
        await s.stop()
        #expect(kill(pid, 0) != 0)
        // Nothing running the fixture as this test's plugin user any more (other suites run it under other uids).
        let leftovers = ((try? FileSystemProbe.processesRunning("hostile_plugin.py")) ?? []).filter { FileSystemProbe.uid(of: $0) == 61900 }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}

enum FileSystemProbe {
    /// The real uid of a process (from /proc/<pid>/status), nil if it is gone.
    static func uid(of pid: Int32) -> UInt32? {
        guard let status = TestData.readString("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Uid:") {
            return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { UInt32($0) }
        }
        return nil
    }

    /// Pids whose command line mentions `marker`.
    static func processesRunning(_ marker: String) throws -> [Int32] {
        guard let d = opendir("/proc") else { return [] }
        defer { closedir(d) }
        var out: [Int32] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = Int32(name), pid != getpid() else { continue }
            if let cmd = TestData.readString("/proc/\(name)/cmdline"), cmd.contains(marker) { out.append(pid) }
        }
        return out
    }
}

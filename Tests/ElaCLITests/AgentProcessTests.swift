#if canImport(Glibc)
import Glibc
#endif
import ElaSQLite
import ElaTestSupport
import Testing

/// The real `ela-agent` process with `elactl` talking to it over the control socket.
@Suite(.ownThread, .serialized) struct AgentProcessTests {
    let agentPath = ChildProcess.product("ela-agent")
    let elactl = ChildProcess.product("elactl")

    struct RunningAgent {
        let process: ChildProcess
        let socket: String
        let did: String
    }

    func startAgent(_ dir: TemporaryDirectory, extra: [String] = []) throws -> RunningAgent {
        let socket = dir.path + "/run/control.sock"
        let p = try ChildProcess(
            agentPath, ["--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"] + extra,
            outputDirectory: dir.path)
        let ready = ChildProcess.waitUntil(timeoutSeconds: 30) { p.stdout.contains("ela-agent ready") }
        try #require(ready, "agent did not become ready: \(p.stderr)")
        let line = p.stdout.split(separator: "\n").first { $0.contains("ready") } ?? ""
        let did = line.split(separator: " ").first { $0.hasPrefix("did:elastos:") }.map(String.init) ?? ""
        return RunningAgent(process: p, socket: socket, did: did)
    }

    @Test func firstStartCreatesAnIdentityAndRestartsKeepIt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = try startAgent(dir)
        #expect(first.did.hasPrefix("did:elastos:i"))
        #expect(first.process.stdout.contains("(new identity)"))

        let status = try ChildProcess.run(elactl, ["status", "--json", "--socket", first.socket])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"did\": \"\(first.did)\""))
        #expect(status.stdout.contains("\"board\": \"sim\""))
        #expect(status.stdout.contains("\"boardName\": \"Simulated board\""))
        // What needs attention, at a glance: here nothing (no peers, no carrier configured).
        let text = try ChildProcess.run(elactl, ["status", "--socket", first.socket]).stdout
        for line in ["audit log:  ok", "carrier:    off", "chain:      no peers", " free"] {
            #expect(text.contains(line), "\(line) in \(text)")
        }
        #expect(text.contains("plugins:    ") && !text.contains("FAILED"), "\(text)")
        #expect(status.stdout.contains("\"clock\": \"ok\"") && !text.contains("clock:"), "a set clock is not news")

        // The document the agent serves is a genuine Elastos DID document.
        let show = try ChildProcess.run(elactl, ["identity", "show", "--socket", first.socket, "--document"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("DID:         \(first.did)"))
        let docStart = try #require(show.stdout.firstIndex(of: "{"))
        let docFile = dir.write("device.json", String(show.stdout[docStart...]))
        let verify = try ChildProcess.run(elactl, ["did", "verify", docFile])
        #expect(verify.status == 0, "\(verify.stdout)")

        // Socket and state permissions.
        var st = stat()
        #expect(stat(first.socket, &st) == 0 && st.st_mode & 0o777 == 0o660)
        #expect(stat(dir.path + "/state", &st) == 0 && st.st_mode & 0o777 == 0o700)
        #expect(stat(dir.path + "/state/machine.key", &st) == 0 && st.st_mode & 0o777 == 0o600)

        // SIGTERM: clean exit, socket removed.
        first.process.signal(SIGTERM)
        #expect(try first.process.wait() == 0)
        #expect(!fileExists(first.socket))

        let second = try startAgent(dir)
        #expect(second.did == first.did)
        #expect(second.process.stdout.contains("(existing identity)"))
        let status2 = try ChildProcess.run(elactl, ["status", "--json", "--socket", second.socket])
        #expect(status2.stdout.contains("\"starts\": 2"))
        second.process.signal(SIGINT)
        #expect(try second.process.wait() == 0)
    }

    /// systemd's side of sd_notify: a datagram socket the agent is pointed at with NOTIFY_SOCKET (as `Type=notify`
    /// and `WatchdogSec=` in the unit do).
    @Test func tellsSystemdWhenReadyPingsTheWatchdogAndSaysWhenStopping() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let socketPath = dir.path + "/notify.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in socketPath.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
        }

        let agent = try ChildProcess(
            agentPath, ["--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            environment: ["NOTIFY_SOCKET": socketPath, "WATCHDOG_USEC": "200000"], outputDirectory: dir.path)
        var messages: [String] = []
        while let m = receive(), messages.count < 4 { messages.append(m) }
        let ready = try #require(messages.first { $0.contains("READY=1") }, "got \(messages); \(agent.stderr)")
        #expect(ready.contains("MAINPID=\(agent.pid)"))
        #expect(ready.contains("STATUS=device DID did:elastos:"))
        #expect(agent.stdout.contains("ela-agent ready"))
        // Pings keep coming at half the 200 ms interval.
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(messages)")

        agent.signal(SIGTERM)
        var last: [String] = []
        while let m = receive() {
            last.append(m)
            if m.contains("STOPPING=1") { break }
        }
        #expect(last.contains("STOPPING=1"), "\(last)")
        #expect(try agent.wait() == 0)
    }

    /// `control.socket_group` hands the socket to a group (the package's `ela-agent`) so its members can use elactl;
    /// a group that does not exist stops the start with a message saying what to do.
    @Test func theControlSocketGoesToTheConfiguredGroup() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let config = dir.write("agent.toml", "[control]\nsocket_group = \"daemon\"\n")
        let agent = try startAgent(dir, extra: ["--config", config])
        var st = stat()
        #expect(stat(agent.socket, &st) == 0)
        #expect(st.st_gid == getgrnam("daemon").pointee.gr_gid)
        #expect(st.st_mode & 0o777 == 0o660)
        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait() == 0)

        let missing = dir.write("missing.toml", "[control]\nsocket_group = \"no-such-group-here\"\n")
        let refused = try ChildProcess.run(
            agentPath, ["--board", "sim", "--state-dir", dir.path + "/state2", "--runtime-dir", dir.path + "/run2", "--config", missing])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("no group 'no-such-group-here'"), "\(refused.stderr)")
    }

    @Test func aKilledAgentLosesNothing() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let first = try startAgent(dir)
        first.process.signal(SIGKILL)
        #expect(try first.process.wait() == 128 + SIGKILL)
        // The stale socket and the lock die with the process; the identity survives.
        let second = try startAgent(dir)
        #expect(second.did == first.did)
        #expect(second.process.stdout.contains("(existing identity)"))
        let status = try ChildProcess.run(elactl, ["status", "--json", "--socket", second.socket])
        #expect(status.stdout.contains("\"starts\": 2"))
        second.process.signal(SIGTERM)
        #expect(try second.process.wait() == 0)
    }

    @Test func aSecondAgentOnTheSameStateDirIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let other = try ChildProcess.run(
            agentPath, ["--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run2"], timeoutSeconds: 30)
        #expect(other.status == 1)
        #expect(other.stderr.contains("is using this state directory"))
        // The first one still answers.
        #expect(try ChildProcess.run(elactl, ["status", "--socket", agent.socket]).status == 0)
        agent.process.signal(SIGTERM)
        try agent.process.wait()
    }

    /// Another state dir but the same runtime dir: the second agent must not take over the first one's socket (and
    /// remove it when it stops, leaving the first unreachable).
    @Test func aSecondAgentOnTheSameRuntimeDirIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let other = try ChildProcess.run(
            agentPath, ["--board", "sim", "--state-dir", dir.path + "/state2", "--runtime-dir", dir.path + "/run"], timeoutSeconds: 30)
        #expect(other.status == 1)
        #expect(other.stderr.contains("another process serves it (a second agent?)"), "\(other.stderr)")
        let status = try ChildProcess.run(elactl, ["status", "--json", "--socket", agent.socket])
        #expect(status.status == 0 && status.stdout.contains(agent.did))
        agent.process.signal(SIGTERM)
        try agent.process.wait()
    }

    /// A pinned DID is a peer the carrier admits: `peer list` shows it even with no chain, and `peer verify` says it
    /// is pinned while still exiting 1 (pinning is no chain proof).
    @Test func pinnedPeersAreListedAndNamedAsPinned() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let created = try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/dapp", "--json"])
        let did = try #require(created.stdout.split(separator: "\"").first { $0.hasPrefix("did:elastos:") }.map(String.init))
        #expect(try ChildProcess.run(elactl, ["peer", "pin", dir.path + "/dapp/document.json", "--socket", agent.socket]).status == 0)
        let list = try ChildProcess.run(elactl, ["peer", "list", "--socket", agent.socket])
        #expect(list.stdout.contains(did) && list.stdout.contains("pinned"), "\(list.stdout)")
        // The pin is in the audit log, written with it.
        let audit = try ChildProcess.run(elactl, ["audit", "list", "--socket", agent.socket])
        #expect(audit.stdout.contains("peer.pin") && audit.stdout.contains("pinned \(did) until "), "\(audit.stdout)")
        let verify = try ChildProcess.run(elactl, ["peer", "verify", did, "--socket", agent.socket])
        #expect(verify.status == 1 && verify.stdout.contains("not-found") && verify.stdout.contains("pinned by an admin"), "\(verify.stdout)")
        // On mainnet (the default) DIDs are not on the chain the agent follows: it says so rather than publish there.
        let status = try ChildProcess.run(elactl, ["spv", "status", "--socket", agent.socket])
        #expect(status.stdout.contains("DIDs are not on this chain") && status.stdout.contains("elactl peer pin"), "\(status.stdout)")
        let publish = try ChildProcess.run(elactl, ["did", "publish", "--socket", agent.socket])
        #expect(publish.status != 0 && publish.stderr.contains("EID side chain"), "\(publish.stdout) \(publish.stderr)")
        agent.process.signal(SIGTERM)
        try agent.process.wait()
    }

    @Test func aDamagedKeystoreStopsStartupWithoutANewIdentity() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let agent = try startAgent(dir)
        agent.process.signal(SIGTERM)
        try agent.process.wait()
        // Replace the machine secret: the stored key can no longer be opened.
        _ = dir.write("state/machine.key.new", String(repeating: "x", count: 32))
        chmod(dir.path + "/state/machine.key.new", 0o600)
        rename(dir.path + "/state/machine.key.new", dir.path + "/state/machine.key")
        let keyBefore = TestData.read(dir.path + "/state/keystore/device-key")
        let r = try ChildProcess.run(
            agentPath, ["--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"], timeoutSeconds: 30)
        #expect(r.status == 1)
        #expect(r.stderr.contains("device identity"))
        #expect(r.stderr.contains("device-key"))
        #expect(TestData.read(dir.path + "/state/keystore/device-key") == keyBefore)
        // Deleting the key while the database remembers the DID is refused too.
        unlink(dir.path + "/state/keystore/device-key")
        let r2 = try ChildProcess.run(
            agentPath, ["--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"], timeoutSeconds: 30)
        #expect(r2.status == 1)
        #expect(r2.stderr.contains(agent.did))
        #expect(!fileExists(dir.path + "/state/keystore/device-key"))
    }

    @Test func configurationErrorsExitTwoWithKeyAndLine() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let conf = dir.write("agent.toml", "[agent]\nboard = \"sim\"\nlog_level = \"chatty\"\n")
        let r = try ChildProcess.run(agentPath, ["--config", conf, "--state-dir", dir.path + "/s"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("agent.toml:3: agent.log_level"))
        let missing = try ChildProcess.run(agentPath, ["--config", dir.path + "/none.toml"])
        #expect(missing.status == 2)
        let badFlag = try ChildProcess.run(agentPath, ["--board", "Not A Board", "--state-dir", dir.path + "/s"])
        #expect(badFlag.status == 2)
        let unknown = try ChildProcess.run(agentPath, ["--board", "toaster", "--state-dir", dir.path + "/s"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown board 'toaster'"))
        #expect(unknown.stderr.contains("known boards: beaglebone-black, qemu-gpio-sim, raspberry-pi-4b, raspberry-pi-5, sim"))
    }

    @Test func backupAndRestoreMoveTheIdentityToAnotherDevice() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // With the carrier on: its address (in the DID document) comes back with the words too.
        let config = dir.write("agent.toml", "[carrier]\nenable = true\n")
        let agent = try startAgent(dir, extra: ["--config", config])
        func carrierAddress(_ socket: String) throws -> String? {
            let document = try ChildProcess.run(elactl, ["identity", "show", "--document", "--socket", socket]).stdout
            return document.split(separator: "\"").first { $0.hasPrefix("carrier://") }.map(String.init)
        }
        let address = try #require(try carrierAddress(agent.socket))
        // Offline commands refuse to touch the state while the agent holds it.
        let busy = try ChildProcess.run(elactl, ["identity", "backup", "--state-dir", dir.path + "/state"])
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("is using this state directory"))
        agent.process.signal(SIGTERM)
        try agent.process.wait()

        let backup = try ChildProcess.run(elactl, ["identity", "backup", "--state-dir", dir.path + "/state", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let words = try #require(backup.stdout.split(separator: "\n").first { $0.contains("\"mnemonic\"") })
            .split(separator: "\"").dropLast().last.map(String.init)
        let mnemonic = try #require(words)
        #expect(mnemonic.split(separator: " ").count == 12)

        // A second "device": restore there, start the agent, same DID.
        let other = TemporaryDirectory()
        defer { other.remove() }
        let restore = try ChildProcess.run(elactl, ["identity", "restore", "--state-dir", other.path + "/state", "--mnemonic", mnemonic])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(restore.stdout == "restored device DID \(agent.did)\n")
        let twin = try startAgent(other, extra: ["--config", config])
        #expect(twin.did == agent.did)
        #expect(twin.process.stdout.contains("(existing identity)"))
        #expect(try carrierAddress(twin.socket) == address, "DApps find the restored device where they paired with it")
        twin.process.signal(SIGTERM)
        try twin.process.wait()

        // Over a device that had an identity (and a carrier key) of its own: --force replaces both.
        let used = TemporaryDirectory()
        defer { used.remove() }
        let before = try startAgent(used, extra: ["--config", config])
        #expect(try carrierAddress(before.socket) != address)
        before.process.signal(SIGTERM)
        try before.process.wait()
        let forced = try ChildProcess.run(elactl, ["identity", "restore", "--state-dir", used.path + "/state", "--mnemonic", mnemonic, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let replaced = try startAgent(used, extra: ["--config", config])
        #expect(replaced.did == agent.did)
        #expect(try carrierAddress(replaced.socket) == address, "the old identity's carrier key went with it")
        replaced.process.signal(SIGTERM)
        try replaced.process.wait()
    }

    /// Settings changed without editing agent.toml: checked at once, audited, applied at the next start.
    @Test func configSetChangesASettingAtTheNextStart() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let agent = try startAgent(dir)
        func ctl(_ args: [String], _ socket: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try ChildProcess.run(elactl, args + ["--socket", socket])
        }
        #expect(try ctl(["config", "set", "spv.network", "regnet"], agent.socket).stdout.contains("spv.network = \"regnet\""))
        #expect(try ctl(["config", "set", "audit.max_rows", "1000"], agent.socket).status == 0)
        let refusedSection = try ctl(["config", "set", "agent.board", "raspberry-pi-5"], agent.socket)
        #expect(refusedSection.status != 0 && refusedSection.stderr.contains("change it in agent.toml"), "\(refusedSection.stderr)")
        let refusedValue = try ctl(["config", "set", "spv.network", "moon"], agent.socket)
        #expect(refusedValue.status != 0 && refusedValue.stderr.contains("spv.network"), "\(refusedValue.stderr)")
        let refusedKey = try ctl(["config", "set", "spv.colour", "1"], agent.socket)
        #expect(refusedKey.status != 0, "\(refusedKey.stdout)")
        let show = try ctl(["config", "show"], agent.socket).stdout
        #expect(show.contains("audit.max_rows = 1000") && show.contains("spv.network = \"regnet\"") && !show.contains("moon"), "\(show)")
        #expect(try ctl(["audit", "list", "--limit", "20"], agent.socket).stdout.contains("config.set"))
        #expect(try ctl(["spv", "status"], agent.socket).stdout.contains("mainnet"), "not before the next start")
        agent.process.signal(SIGTERM)
        try agent.process.wait()

        let again = try startAgent(dir)
        #expect(try ctl(["spv", "status"], again.socket).stdout.contains("regnet"))
        #expect(try ctl(["config", "unset", "spv.network"], again.socket).status == 0)
        #expect(try ctl(["config", "unset", "spv.network"], again.socket).status != 0, "not set any more")
        // Only root: a member of the socket's group (here another uid in group root) is refused.
        if getuid() == 0 {
            for path in [dir.path, dir.path + "/run"] { chmod(path, 0o711) }
            let member = try ChildProcess.run(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=0", "--clear-groups", elactl, "config", "set", "audit.max_rows", "5000", "--socket", again.socket])
            #expect(member.status != 0 && member.stderr.contains("only root"), "\(member.status) \(member.stdout) \(member.stderr)")
        }
        let secret = try ctl(["config", "set", "mqtt.password", "hunter2"], again.socket)
        #expect(secret.status != 0 && secret.stderr.contains("password_file"), "\(secret.stderr)")
        again.process.signal(SIGTERM)
        try again.process.wait()

        // A stored setting that no longer fits (written here behind the agent's back, as an edited agent.toml or a
        // renamed key would leave it) does not keep the agent down: it starts on agent.toml alone and says so.
        let db = try SQLiteConnection(path: dir.path + "/state/agent.db")
        try db.run("INSERT INTO settings (key, value, updated_at) VALUES ('config.spv.colour', '1', 0)")
        db.close()
        let third = try startAgent(dir)
        let status = try ctl(["status"], third.socket).stdout
        #expect(status.contains("settings:   IGNORED") && status.contains("spv.colour"), "\(status)")
        #expect(try ctl(["config", "show"], third.socket).stdout.contains("IGNORED at this start"))
        third.process.signal(SIGTERM)
        try third.process.wait()
    }

    @Test func elactlWithoutAnAgentExitsThree() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let r = try ChildProcess.run(elactl, ["status"], environment: ["ELA_AGENT_SOCKET": dir.path + "/none.sock"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("is the agent running"))
    }
}

// Carrier: a DApp's signed call through ElaClient -> its ela-carrier -> Tox -> the agent's sandboxed ela-carrier ->
// gate -> gpio plugin and back, p50/p99 over UDP and through the TCP relay, next to the raw toxcore lossless-packet
// round trip between two Tox instances with a 1 ms loop (`ela-carrier bench-raw`), all against one tox-bootstrapd
// on loopback in the same run. Also the time from "client started" to an open session (friend request, link,
// challenge-response), next to the raw friend connection time.
#if canImport(Glibc)
import Glibc
#endif
import ElaCarrier
import ElaClient
import ElaConfig
import ElaDeviceIdentity
import ElaIdentity
import ElaJSON
import Logging

/// Spawns `path args` with output to `log` and default signal handling; returns its pid.
private func spawn(_ path: String, _ args: [String], log: String) throws -> pid_t {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, log + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    guard posix_spawn(&pid, path, &actions, &attr, argv, environ) == 0 else { throw BenchFailure(description: "cannot start \(path)") }
    return pid
}

private func run(_ path: String, _ args: [String], dir: String) throws -> (Int32, String) {
    let log = dir + "/run-\(UInt32.random(in: 0...UInt32.max)).out"
    let pid = try spawn(path, args, log: log)
    var status: Int32 = 0
    _ = waitpid(pid, &status, 0)
    return ((status >> 8) & 0xff, readFile(log) ?? "")
}

private func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

private func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "w") else { throw BenchFailure(description: "cannot write \(path)") }
    fputs(text, f)
    fclose(f)
}

private func percentile(_ sorted: [Double], _ p: Int) -> Double { sorted[min(sorted.count - 1, sorted.count * p / 100)] }

func benchCarrier() async throws {
    guard access("/usr/bin/tox-bootstrapd", X_OK) == 0 else {
        print("carrier: skipped (/usr/bin/tox-bootstrapd not installed; make deps installs toxcore-utils)")
        return
    }
    var template = Array("/tmp/ela-bench-carrier-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    var pids: [pid_t] = []
    defer {
        for p in pids { kill(p, SIGKILL) }
        for p in pids { var s: Int32 = 0; _ = waitpid(p, &s, 0) }
    }
    // The bootstrap node (DHT + TCP relay); its key from its log.
    let udp = freePort(), tcp = freePort()
    try writeFile(
        dir + "/bootstrapd.conf",
        """
        port = \(udp)
        keys_file_path = "\(dir)/bootstrapd.keys"
        pid_file_path = "\(dir)/bootstrapd.pid"
        enable_ipv6 = false
        enable_ipv4_fallback = true
        enable_lan_discovery = false
        enable_tcp_relay = true
        tcp_relay_ports = [\(tcp)]
        enable_motd = false
        bootstrap_nodes = ()

        """)
    pids.append(try spawn("/usr/bin/tox-bootstrapd", ["--config=\(dir)/bootstrapd.conf", "--foreground", "--log-backend=stdout"], log: dir + "/bootstrapd.log"))
    var key = ""
    for _ in 0..<100 where key.isEmpty {
        usleep(100_000)
        for line in (readFile(dir + "/bootstrapd.log") ?? "").split(separator: "\n") {
            if let r = line.firstRange(of: "Public Key: ") { key = String(line[r.upperBound...].prefix(64)).lowercased() }
        }
    }
    guard key.count == 64 else { throw BenchFailure(description: "tox-bootstrapd printed no key") }

    // Baselines: raw toxcore in one process, UDP and device-behind-TCP-relay.
    let carrierExe = siblingPath("ela-carrier")
    var raw: [String: JSONValue] = [:]
    for mode in ["udp", "tcp"] {
        let (status, out) = try run(carrierExe, ["bench-raw", mode, "127.0.0.1", "\(udp)", "\(tcp)", key, "200"], dir: dir)
        guard status == 0, let v = try? JSONParser.parse(String(out.split(separator: "\n").last ?? "")) else {
            throw BenchFailure(description: "ela-carrier bench-raw \(mode) failed: \(out) \(readFile(dir + "/x.err") ?? "")")
        }
        raw[mode] = v
    }

    // The agent (sim board, gpio, carrier) and a DApp identity that is pinned and granted gpio.read.
    let agentTOML = """
        [plugins]
        enable = ["gpio", "carrier"]
        [carrier]
        [[carrier.bootstrap]]
        host = "127.0.0.1"
        port = \(udp)
        public_key = "\(key)"
        [[carrier.relay]]
        host = "127.0.0.1"
        port = \(tcp)
        public_key = "\(key)"

        """
    try writeFile(dir + "/agent.toml", agentTOML)
    let socket = dir + "/run/control.sock"
    pids.append(
        try spawn(
            siblingPath("ela-agent"),
            ["--config", dir + "/agent.toml", "--board", "sim", "--state-dir", dir + "/state", "--runtime-dir", dir + "/run"],
            log: dir + "/agent.log"))
    let elactl = siblingPath("elactl")
    var address: CarrierAddress?
    for _ in 0..<300 where address == nil {
        usleep(100_000)
        if let (s, out) = try? run(elactl, ["carrier", "show", "--json", "--socket", socket], dir: dir), s == 0,
            let a = (try? JSONParser.parse(out))?["address"]?.stringValue
        {
            address = try? CarrierAddress(a)
        }
    }
    guard let address else { throw BenchFailure(description: "the agent's carrier did not start: \(readFile(dir + "/agent.log.err") ?? "")") }
    let (created, _) = try run(elactl, ["identity", "create", "--dir", dir + "/dapp"], dir: dir)
    guard created == 0 else { throw BenchFailure(description: "elactl identity create failed") }
    let id = try IdentityDirectory.load(dir + "/dapp")
    _ = try run(elactl, ["peer", "pin", dir + "/dapp/document.json", "--socket", socket], dir: dir)
    _ = try run(elactl, ["grant", "add", id.did.description, "gpio.read", "--socket", socket], dir: dir)

    print("carrier (loopback, one tox-bootstrapd; each figure next to raw toxcore in the same run):")
    for (label, udpOn) in [("UDP", true), ("TCP relay (DApp UDP off)", false)] {
        var o = CarrierClient.Options()
        o.carrierExecutable = carrierExe
        o.network.udp = udpOn
        o.network.bootstrap = [.init(host: "127.0.0.1", port: udp, publicKey: key)]
        o.network.relays = [.init(host: "127.0.0.1", port: tcp, publicKey: key)]
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let client = try CarrierClient(did: id.did, key: id.key, device: address, options: o, logger: logger)
        let t0 = now()
        try await client.connect(timeoutSeconds: 90)
        let connect = now() - t0
        // Let a UDP link leave the TCP relay it often starts on (the raw baseline waits for UDP too).
        if udpOn { try? await Task.sleep(for: .seconds(5)) }
        var rtts: [Double] = []
        for i in 0..<220 {
            let s = now()
            _ = try await client.call("gpio.read", ["pin": "LED0"])
            if i >= 20 { rtts.append((now() - s) * 1000) }
        }
        await client.close()
        rtts.sort()
        let r = raw[udpOn ? "udp" : "tcp"]
        let rawP50 = r?["p50Ms"]?.numberValue?.doubleValue ?? .nan
        let rawP99 = r?["p99Ms"]?.numberValue?.doubleValue ?? .nan
        let rawConnect = (r?["connectMs"]?.numberValue?.doubleValue ?? .nan) / 1000
        print("  \(label): signed gpio.read RTT p50 \(fmt(percentile(rtts, 50))) ms, p99 \(fmt(percentile(rtts, 99))) ms (200 calls)")
        print("    | raw toxcore lossless packet RTT p50 \(fmt(rawP50)) ms, p99 \(fmt(rawP99)) ms (path \(r?["path"]?.stringValue ?? "?")) | ratio p50 \(fmt(percentile(rtts, 50) / rawP50))")
        print("    session open \(fmt(connect)) s (fresh Tox instance: network join + friend request + link + challenge)")
        print("    | raw friend connection \(fmt(rawConnect)) s (tox_friend_add -> both connected, instances already online)")
    }
}

// MQTT: QoS 1 events per second from the bridge's durable outbox path (SQLite WAL, batched commits, leaving on
// PUBACK) to a subscriber, next to a plain libmosquitto QoS 1 publisher, both to the same local mosquitto in the same
// run; plus end-to-end latency (p50/p99) at a paced rate. Goal: outbox rate >= 0.5 of the plain publisher's.
#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaMQTTBridge
import ElaMosquitto
import Synchronization

private func monoNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Counts arrivals per topic prefix and records each message's latency (payload starts with the send time in ns).
private final class BenchSubscriber: Sendable {
    let client: MosquittoClient
    let received = Atomic<Int>(0)
    let ready = Atomic<Bool>(false)
    let latencies = Mutex<[UInt64]>([])

    init(port: Int) throws {
        client = try MosquittoClient(options: MosquittoOptions())
        let events = client.events
        Task { [weak self] in
            for await e in events {
                guard let self else { return }
                switch e {
                case .connected(0, _): _ = try? self.client.subscribe("bench/#", qos: 1)
                case .subscribed: self.ready.store(true, ordering: .relaxed)
                case .message(let m):
                    let t = monoNs()
                    var sent: UInt64 = 0
                    for b in m.payload.dropFirst(5) {  // {"t":<digits>...
                        guard b >= 0x30 && b <= 0x39 else { break }
                        sent = sent * 10 + UInt64(b - 0x30)
                    }
                    self.latencies.withLock { $0.append(t &- sent) }
                    self.received.add(1, ordering: .relaxed)
                default: break
                }
            }
        }
        try client.start(host: "127.0.0.1", port: port) { _ in .milliseconds(20) }
    }

    func reset() {
        received.store(0, ordering: .relaxed)
        latencies.withLock { $0.removeAll(keepingCapacity: true) }
    }

    func waitFor(_ n: Int, seconds: Double) async -> Bool {
        let deadline = now() + seconds
        while received.load(ordering: .relaxed) < n && now() < deadline { try? await Task.sleep(for: .milliseconds(2)) }
        return received.load(ordering: .relaxed) >= n
    }

    func percentiles() -> (p50: Double, p99: Double) {
        let sorted = latencies.withLock { $0 }.sorted()
        guard !sorted.isEmpty else { return (0, 0) }
        func at(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1e6 }
        return (at(0.5), at(0.99))
    }
}

private func payload(_ i: Int) -> [UInt8] {
    // About the size of a sensors.reading event.
    Array(#"{"t":\#(monoNs()),"plugin":"sensors","event":"sensors.reading","params":{"sensor":"hwmon/cpu_thermal/temp1","kind":"temperature","value":51.87,"unit":"°C","n":\#(i)}}"#.utf8)
}

private func startBroker() throws -> (pid: pid_t, port: Int, dir: String) {
    var template = Array("/tmp/ela-bench-mqtt-XXXXXX".utf8CString)
    guard let d = mkdtemp(&template) else { throw BenchFailure(description: "mkdtemp failed") }
    let dir = String(cString: d)
    // A free port: bind to 0 and read it back.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    close(fd)
    let port = Int(UInt16(bigEndian: addr.sin_port))
    let conf = dir + "/mosquitto.conf"
    let text = "listener \(port) 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n"
    guard let f = fopen(conf, "w") else { throw BenchFailure(description: "cannot write \(conf)") }
    fputs(text, f)
    fclose(f)
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/usr/sbin/mosquitto"), strdup("-c"), strdup(conf), nil]
    defer { argv.forEach { free($0) } }
    // Quiet, and with default signal handling (a parent's blocked or ignored SIGTERM would be inherited).
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
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
    guard posix_spawn(&pid, "/usr/sbin/mosquitto", &actions, &attr, argv, environ) == 0 else {
        throw BenchFailure(description: "cannot start /usr/sbin/mosquitto (make deps installs it)")
    }
    usleep(300_000)
    return (pid, port, dir)
}

func benchMQTT() async throws {
    guard access("/usr/sbin/mosquitto", X_OK) == 0 else {
        print("MQTT: skipped (/usr/sbin/mosquitto not installed)")
        return
    }
    let broker = try startBroker()
    defer {
        kill(broker.pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<100 where waitpid(broker.pid, &status, WNOHANG) == 0 { usleep(20_000) }
        if kill(broker.pid, 0) == 0 {
            kill(broker.pid, SIGKILL)
            waitpid(broker.pid, &status, 0)
        }
        _ = unlink(broker.dir + "/outbox.db")
        _ = unlink(broker.dir + "/outbox.db-wal")
        _ = unlink(broker.dir + "/outbox.db-shm")
        _ = unlink(broker.dir + "/mosquitto.conf")
        rmdir(broker.dir)
    }
    let sub = try BenchSubscriber(port: broker.port)
    let deadline = now() + 10
    while !sub.ready.load(ordering: .relaxed) && now() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    let count = 20_000
    print("MQTT QoS 1 to a local mosquitto, \(count) events of ~190 B, measured at a subscriber:")

    // Plain libmosquitto publisher: publish everything, libmosquitto queues and sends with its in-flight window.
    var o = MosquittoOptions()
    o.maxInflight = 100
    let plain = try MosquittoClient(options: o)
    let acks = Atomic<Int>(0)
    let connected = Atomic<Bool>(false)
    let plainEvents = plain.events
    let drain = Task {
        for await e in plainEvents {
            if case .published = e { acks.add(1, ordering: .relaxed) }
            if case .connected(0, _) = e { connected.store(true, ordering: .relaxed) }
        }
    }
    try plain.start(host: "127.0.0.1", port: broker.port) { _ in .milliseconds(20) }
    while !connected.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
    func plainRun(_ n: Int, paced: Double?) async throws -> Double {
        sub.reset()
        let start = now()
        for i in 0..<n {
            try plain.publish(topic: "bench/plain/\(i % 4)", payload: payload(i), qos: 1)
            if let paced { while now() < start + Double(i + 1) / paced { usleep(100) } }
        }
        guard await sub.waitFor(n, seconds: 120) else { throw BenchFailure(description: "plain: only \(sub.received.load(ordering: .relaxed)) of \(n) arrived") }
        return Double(n) / (now() - start)
    }
    _ = try await plainRun(2000, paced: nil)  // warm-up
    let plainRate = try await plainRun(count, paced: nil)
    let plainBurst = sub.percentiles()
    _ = try await plainRun(2000, paced: 1000)
    let plainPaced = sub.percentiles()
    plain.stop()
    drain.cancel()

    // The bridge: every event committed to the SQLite outbox first, published from there, removed on PUBACK.
    var config = BridgeConfig()
    config.broker = BrokerURL(host: "127.0.0.1", port: broker.port, tls: false)
    config.outboxMaxMessages = 1_000_000
    config.outboxMaxBytes = 1 << 30
    let bridge = try MQTTBridge(
        config: config, deviceDID: "did:elastos:iBench", outboxPath: broker.dir + "/outbox.db",
        hooks: BridgeHooks(relay: { _ in .failure(CommandFailure(code: -1, message: "no commands in the bench")) }))
    try bridge.start()
    while bridge.status["state"]?.stringValue != "online" { try await Task.sleep(for: .milliseconds(5)) }
    func bridgeRun(_ n: Int, paced: Double?) async throws -> Double {
        sub.reset()
        let start = now()
        for i in 0..<n {
            bridge.enqueue(OutboxEntry(topic: "bench/outbox/\(i % 4)", payload: payload(i), createdMs: 0))
            if let paced { while now() < start + Double(i + 1) / paced { usleep(100) } }
        }
        guard await sub.waitFor(n, seconds: 120) else { throw BenchFailure(description: "outbox: only \(sub.received.load(ordering: .relaxed)) of \(n) arrived") }
        return Double(n) / (now() - start)
    }
    _ = try await bridgeRun(2000, paced: nil)
    let outboxRate = try await bridgeRun(count, paced: nil)
    let outboxBurst = sub.percentiles()
    _ = try await bridgeRun(2000, paced: 1000)
    let outboxPaced = sub.percentiles()
    let depthDeadline = now() + 10
    while (bridge.outboxStats?.depth ?? 1) > 0 && now() < depthDeadline { try await Task.sleep(for: .milliseconds(10)) }
    await bridge.stop()
    sub.client.stop()

    print("  plain libmosquitto publisher:  \(fmt(plainRate)) events/s | burst latency p50 \(fmt(plainBurst.p50)) ms, p99 \(fmt(plainBurst.p99)) ms")
    print("  bridge, durable outbox:        \(fmt(outboxRate)) events/s | burst latency p50 \(fmt(outboxBurst.p50)) ms, p99 \(fmt(outboxBurst.p99)) ms")
    print("  ratio outbox/plain: \(fmt(outboxRate / plainRate))  (goal >= 0.5)")
    print("  latency at 1000 events/s: plain p50 \(fmt(plainPaced.p50)) ms, p99 \(fmt(plainPaced.p99)) ms | outbox p50 \(fmt(outboxPaced.p50)) ms, p99 \(fmt(outboxPaced.p99)) ms")
}

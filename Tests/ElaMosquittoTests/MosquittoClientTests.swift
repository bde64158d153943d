#if canImport(Glibc)
import Glibc
#endif
import ElaMosquitto
import ElaTestSupport
import Testing

/// The binding against a real mosquitto on a free loopback port.
@Suite(.serialized, .enabled(if: MosquittoBroker.isInstalled)) struct MosquittoClientTests {
    /// Collects events from a client's stream in the background.
    final class Recorder: @unchecked Sendable {
        private var events: [MosquittoEvent] = []
        private let lock = NSLockish()
        private var task: Task<Void, Never>?

        init(_ client: MosquittoClient) {
            let stream = client.events
            task = Task { [weak self] in
                for await e in stream { self?.append(e) }
            }
        }
        func append(_ e: MosquittoEvent) { lock.locked { events.append(e) } }
        var all: [MosquittoEvent] { lock.locked { events } }
        var messages: [MosquittoMessage] { all.compactMap { if case .message(let m) = $0 { m } else { nil } } }
        var published: [Int32] { all.compactMap { if case .published(let mid) = $0 { mid } else { nil } } }
        var accepted: Bool { all.contains { if case .connected(0, _) = $0 { true } else { false } } }

        /// Polls with Task.sleep: a blocking wait would hold one of the few pool threads the recorder's task needs.
        func wait(_ seconds: Double = 10, _ condition: (Recorder) -> Bool) async -> Bool {
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
            while clock.now < deadline {
                if condition(self) { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return condition(self)
        }
    }

    func connected(_ options: MosquittoOptions, port: Int) throws -> (MosquittoClient, Recorder) {
        let c = try MosquittoClient(options: options)
        let r = Recorder(c)
        try c.start(host: "127.0.0.1", port: port) { _ in .milliseconds(50) }
        return (c, r)
    }

    @Test(arguments: [MosquittoOptions.ProtocolVersion.v311, .v5])
    func publishesQoS1AndReceivesPUBACKAndMessages(version: MosquittoOptions.ProtocolVersion) async throws {
        let broker = try MosquittoBroker()
        var o = MosquittoOptions()
        o.protocolVersion = version
        let (sub, subEvents) = try connected(o, port: broker.port)
        defer { sub.stop() }
        #expect(await subEvents.wait { $0.accepted })
        try sub.subscribe("t/#", qos: 1)
        #expect(await subEvents.wait { $0.all.contains { if case .subscribed = $0 { true } else { false } } })

        let (pub, pubEvents) = try connected(o, port: broker.port)
        defer { pub.stop() }
        #expect(await pubEvents.wait { $0.accepted })
        var mids: [Int32] = []
        for i in 0..<100 { mids.append(try pub.publish(topic: "t/\(i % 3)", payload: Array("m\(i)".utf8), qos: 1)) }
        #expect(await pubEvents.wait { Set($0.published).isSuperset(of: mids) }, "every QoS 1 message gets its PUBACK")
        #expect(await subEvents.wait { $0.messages.count == 100 })
        let got = subEvents.messages
        for t in 0..<3 {
            let expected = (0..<100).filter { $0 % 3 == t }.map { "m\($0)" }
            #expect(got.filter { $0.topic == "t/\(t)" }.map { String(decoding: $0.payload, as: UTF8.self) } == expected, "order per topic")
        }
        #expect(got.allSatisfy { $0.qos == 1 })
    }

    @Test func theWillIsPublishedWhenTheConnectionDiesAndReconnectsAfterTheBrokerReturns() async throws {
        let broker = try MosquittoBroker()
        let (watcher, watched) = try connected(MosquittoOptions(), port: broker.port)
        defer { watcher.stop() }
        #expect(await watched.wait { $0.accepted })
        try watcher.subscribe("dev/status", qos: 1)
        #expect(await watched.wait { $0.all.contains { if case .subscribed = $0 { true } else { false } } })

        // A client with a will, in a child process we can SIGKILL: the broker publishes the will.
        let pub = try ChildProcess(
            "/usr/bin/mosquitto_sub",
            ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "x", "--will-topic", "dev/status", "--will-payload", "offline",
             "--will-qos", "1", "-k", "5"],
            outputDirectory: broker.directory.path)
        try await Task.sleep(for: .milliseconds(500))
        pub.signal(SIGKILL)
        _ = try pub.wait()
        #expect(await watched.wait { $0.messages.contains { $0.topic == "dev/status" && $0.payload == Array("offline".utf8) } })

        // The broker goes away and comes back: the client reports the loss and reconnects by itself.
        broker.stop()
        #expect(await watched.wait { $0.all.contains { if case .disconnected(let c) = $0 { c != 0 } else { false } } })
        try broker.start()
        let connects = { (r: Recorder) in r.all.filter { if case .connected(0, _) = $0 { true } else { false } }.count }
        #expect(await watched.wait(15) { connects($0) >= 2 })
    }

    @Test func connectFailuresAreReportedWithTheAttemptNumber() async throws {
        let port = MosquittoBroker.freePort()
        let (c, r) = try connected(MosquittoOptions(), port: port)
        defer { c.stop() }
        #expect(await r.wait { $0.all.contains { if case .connectFailed(_, let n) = $0 { n >= 2 } else { false } } })
        let first = r.all.first { if case .connectFailed = $0 { true } else { false } }
        if case .connectFailed(let e, 1)? = first {
            #expect(e.description.contains("127.0.0.1:\(port)"))
        } else {
            Issue.record("expected a first failed attempt, got \(String(describing: first))")
        }
    }

    @Test func unreadableTLSFilesAndBadTopicsAreTypedErrors() throws {
        var o = MosquittoOptions()
        o.tls = .init(caFile: "/nonexistent/ca.pem")
        #expect {
            _ = try MosquittoClient(options: o)
        } throws: { e in
            guard let e = e as? MosquittoError else { return false }
            return e.code == .invalidArgument && e.description.contains("/nonexistent/ca.pem")
        }
        var w = MosquittoOptions()
        w.will = .init(topic: "bad/#/will", payload: [])
        #expect(throws: MosquittoError.self) { _ = try MosquittoClient(options: w) }
        #expect(MosquittoClient.isValidPublishTopic("ela/x/events/a/b"))
        #expect(!MosquittoClient.isValidPublishTopic("ela/+/x"))
        #expect(MosquittoClient.isValidSubscription("ela/x/cmd/+"))
        #expect(!mosquittoLibraryVersion().isEmpty)
    }

    @Test func aBrokerWithoutAnonymousAccessRefusesWrongCredentials() async throws {
        let dir = TemporaryDirectory(prefix: "ela-mqtt-auth")
        defer { dir.remove() }
        let port = MosquittoBroker.freePort()
        let conf = dir.write("m.conf", "listener \(port) 127.0.0.1\nallow_anonymous false\npersistence false\n")
        let strict = try ChildProcess(MosquittoBroker.executable, ["-c", conf], outputDirectory: dir.path, resetSignals: true)
        defer {
            strict.signal(SIGTERM)
            _ = try? strict.wait()
        }
        #expect(ChildProcess.waitUntil(timeoutSeconds: 10) { MosquittoBroker.accepts(port: port) })
        var o = MosquittoOptions()
        o.username = "nobody"
        o.password = "wrong"
        let (c, r) = try connected(o, port: port)
        defer { c.stop() }
        // The CONNACK code says why (5: not authorised); the loop keeps trying with backoff.
        #expect(await r.wait { $0.all.contains { if case .connected(let code, _) = $0 { code != 0 } else { false } } })
        #expect(!r.accepted)
    }

    /// A TLS listener that checks the server's certificate chain, requires a client certificate and a password.
    @Test(.enabled(if: TestTLS.isInstalled)) func tlsWithClientCertificateAndPassword() async throws {
        let pki = try TestTLS()
        let broker = try MosquittoBroker(tls: pki, users: ["device": "s3cret"])
        func options(ca: String? = nil, client: Bool = true, password: String = "s3cret") -> MosquittoOptions {
            var o = MosquittoOptions()
            o.username = "device"
            o.password = password
            o.tls = .init(caFile: ca ?? pki.caFile, certFile: client ? pki.clientCertFile : nil, keyFile: client ? pki.clientKeyFile : nil)
            return o
        }
        // All three right: QoS 1 publish acknowledged, and the message delivered over TLS.
        let (sub, subEvents) = try connected(options(), port: broker.port)
        defer { sub.stop() }
        #expect(await subEvents.wait { $0.accepted }, "\(subEvents.all) \(broker.stderr)")
        try sub.subscribe("tls/#", qos: 1)
        #expect(await subEvents.wait { $0.all.contains { if case .subscribed = $0 { true } else { false } } })
        let (pub, pubEvents) = try connected(options(), port: broker.port)
        defer { pub.stop() }
        #expect(await pubEvents.wait { $0.accepted })
        let mid = try pub.publish(topic: "tls/a", payload: Array("over tls".utf8), qos: 1)
        #expect(await pubEvents.wait { $0.published.contains(mid) })
        #expect(await subEvents.wait { $0.messages.contains { $0.payload == Array("over tls".utf8) } })

        // A server signed by a CA the client does not trust, no client certificate, a wrong password: never in.
        let failures: [(String, MosquittoOptions)] = [
            ("untrusted server", options(ca: pki.strangerCAFile)), ("no client certificate", options(client: false)),
            ("wrong password", options(password: "guess")),
        ]
        for (what, o) in failures {
            let (c, r) = try connected(o, port: broker.port)
            let refused = await r.wait {
                $0.all.contains {
                    switch $0 {
                    case .connected(let code, _): code != 0
                    case .connectFailed, .disconnected: true
                    default: false
                    }
                }
            }
            #expect(refused, "\(what): \(r.all)")
            #expect(!r.accepted, "\(what) must not connect")
            c.stop()
        }
    }
}

/// A tiny lock for the recorder (pthread mutex; no Foundation).
final class NSLockish: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

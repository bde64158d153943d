// SPDX-License-Identifier: GPL-3.0-or-later
// ela-carrier links libtoxcore (GPL-3.0-or-later) and is therefore distributed under GPL-3.0-or-later
// (Packaging/LICENSES.md). Nothing else in the project links libtoxcore.
#if canImport(Glibc)
import Glibc
#endif
import ElaCarrierLink
import ElaPluginKit
import ElaTox
import Synchronization

/// Settings from the host's hello (`[carrier]` of agent.toml, plus the device's Tox key from its keystore).
struct NodeConfig: Sendable {
    struct Node: Sendable {
        var host: String
        var port: UInt16
        var key: [UInt8]
    }
    var secretKey: [UInt8]?
    var nospam: UInt32?
    var udp = true
    var lan = false
    var bootstrap: [Node] = []
    var relays: [Node] = []
    var window = 32
    var udpWindow = 512

    init(_ o: JSONObject) throws(PluginError) {
        if let hex = o["secretKey"]?.stringValue {
            guard let k = decodeHex(hex), k.count == 32 else { throw PluginError.invalidParams("secretKey must be 64 hex digits") }
            secretKey = k
        }
        nospam = o["nospam"]?.numberValue?.int64Value.flatMap { UInt32(exactly: $0) }
        udp = o["udp"]?.boolValue ?? true
        lan = o["lan"]?.boolValue ?? false
        window = max(1, min(256, Int(o["window"]?.numberValue?.int64Value ?? 32)))
        udpWindow = max(1, min(4096, Int(o["udpWindow"]?.numberValue?.int64Value ?? 512)))
        func nodes(_ name: String) throws(PluginError) -> [Node] {
            var out: [Node] = []
            for v in o[name]?.arrayValue ?? [] {
                guard let host = v["host"]?.stringValue, let port = v["port"]?.numberValue?.int64Value.flatMap({ UInt16(exactly: $0) }),
                    let key = v["key"]?.stringValue.flatMap(decodeHex), key.count == 32
                else { throw PluginError.invalidParams("\(name): each entry needs host, port (1-65535) and key (64 hex digits)") }
                out.append(Node(host: host, port: port, key: key))
            }
            return out
        }
        bootstrap = try nodes("bootstrap")
        relays = try nodes("relays")
    }
}

/// The Tox instance, its loop thread, and what the host asks of it.
///
/// toxcore is not thread-safe, so the instance and the per-friend state live in one `Mutex` (`core`). The loop thread
/// takes it for each turn (`tox_iterate`, then whatever the windows let go) and sleeps without it. The host's
/// requests take it on the thread that reads them: `carrier.send` puts a message's chunks on the wire at once,
/// without waking the loop thread and waiting for its next turn, which was a thread hop on every message.
///
/// What toxcore reports leaves from the loop thread, in order, as requests to the host (`deliver`); at most
/// `maxDeliveriesInFlight` wait for the host's answer at once, the rest wait here.
final class CarrierNode: Sendable {
    /// Hands one report to the host; `answered` runs once with the host's answer (nil when the request failed).
    typealias Deliver = @Sendable (_ method: String, _ params: JSONObject, _ answered: @escaping @Sendable (JSONValue?) -> Void) -> Void

    static let maxDeliveriesInFlight = 16
    static let maxUndelivered = 100_000

    struct Friend {
        var window: SendWindow
        var reassembler = Reassembler()
        var connection = ToxConnection.none
    }

    /// Everything toxcore-related, touched under the lock only.
    struct Core {
        let tox: Tox
        let config: NodeConfig
        var friends: [UInt32: Friend] = [:]
        var nextMessageID = UInt32.random(in: 0...UInt32.max)
        var selfConnection = ToxConnection.none
        var lastBootstrap: Int64 = 0
        var undelivered: [(String, JSONObject)] = []
        var undeliveredHead = 0
        var droppedReports = 0

        func friendState(_ n: UInt32) -> Friend { friends[n] ?? Friend(window: SendWindow(limit: config.window)) }

        mutating func report(_ method: String, _ params: JSONObject) {
            if undelivered.count - undeliveredHead >= CarrierNode.maxUndelivered {
                undeliveredHead += 1
                droppedReports += 1
            }
            undelivered.append((method, params))
        }

        /// Up to `count` reports, oldest first.
        mutating func takeReports(_ count: Int) -> [(String, JSONObject)] {
            let end = min(undelivered.count, undeliveredHead + max(0, count))
            let out = Array(undelivered[undeliveredHead..<end])
            undeliveredHead = end
            if undeliveredHead == undelivered.count {
                undelivered.removeAll(keepingCapacity: undelivered.count < 1024)
                undeliveredHead = 0
            }
            return out
        }

        var hasReports: Bool { undeliveredHead < undelivered.count }

        /// Sends what friend `n`'s window lets go; whether anything is still queued or unacknowledged.
        mutating func flush(_ n: UInt32) -> Bool {
            guard var f = friends[n] else { return false }
            while let chunk = f.window.next {
                do { f.window.sent(id: try tox.sendMessage(friend: n, chunk)) } catch { break }
            }
            friends[n] = f
            return f.window.waiting > 0 || !f.window.inFlight.isEmpty
        }

        /// Whether it is time to bootstrap: at start and again every 10 s while we are offline.
        mutating func bootstrapDue(now: Int64) -> Bool {
            guard selfConnection == .none && now - lastBootstrap > 10_000 else { return false }
            lastBootstrap = now
            return true
        }

        /// Hands toxcore the bootstrap nodes and relays, their addresses already resolved (numeric, so toxcore does
        /// no DNS lookup while the lock is held: that would stall `carrier.send` and the reader's pings with it).
        func bootstrap(bootstrap: [NodeConfig.Node], relays: [NodeConfig.Node]) {
            for n in bootstrap { try? tox.bootstrap(host: n.host, port: n.port, publicKey: n.key) }
            for n in relays { try? tox.addTCPRelay(host: n.host, port: n.port, publicKey: n.key) }
        }

        /// One turn of the loop: `tox_iterate`, toxcore's reports, the windows. Returns whether traffic is still
        /// flowing (the loop then turns again in 1 ms).
        mutating func turn(now: Int64) -> Bool {
            let events = tox.iterate()
            for event in events {
                switch event {
                case .selfConnection(let c):
                    selfConnection = c
                    report("carrier.connection", ["connection": .string(c.rawValue)])
                case .friendRequest(let key, let message):
                    report("carrier.request", ["key": .string(encodeHex(key)), "message": .string(String(decoding: message, as: UTF8.self))])
                case .friendConnection(let n, let c):
                    var f = friendState(n)
                    f.connection = c
                    f.window.limit = c == .udp ? config.udpWindow : config.window
                    if !c.isOnline {
                        // toxcore drops what it had not delivered; the session above starts over.
                        f.window.reset()
                        f.reassembler.reset()
                    }
                    friends[n] = f
                    if let key = tox.publicKey(ofFriend: n) {
                        report("carrier.connection", ["key": .string(encodeHex(key)), "connection": .string(c.rawValue)])
                    }
                case .friendMessage(let n, let bytes):
                    var f = friendState(n)
                    do {
                        if let whole = try f.reassembler.accept(bytes, nowMs: nowMs()), let key = tox.publicKey(ofFriend: n) {
                            report("carrier.message", ["key": .string(encodeHex(key)), "text": .string(String(decoding: whole, as: UTF8.self))])
                        }
                    } catch {
                        PluginLog.line("carrier: dropped a message from friend \(n): \(error)")
                    }
                    friends[n] = f
                case .readReceipt(let n, let id):
                    friends[n]?.window.receipt(id: id)
                case .losslessPacket:
                    break
                }
            }
            var busy = !events.isEmpty
            for n in Array(friends.keys) where flush(n) { busy = true }
            return busy
        }

        func status() -> JSONObject {
            var list: [JSONValue] = []
            for n in tox.friends {
                guard let key = tox.publicKey(ofFriend: n) else { continue }
                let f = friendState(n)
                list.append(.object([
                    "key": .string(encodeHex(key)), "connection": .string(tox.connection(ofFriend: n).rawValue),
                    "inFlight": .number(JSONNumber(f.window.inFlight.count)), "queued": .number(JSONNumber(f.window.waiting)),
                ]))
            }
            var o: JSONObject = [
                "publicKey": .string(encodeHex(tox.publicKey)), "address": .string(encodeHex(tox.address)),
                "connection": .string(tox.connection.rawValue), "friends": .array(list), "toxcore": .string(Tox.version),
                "udp": .bool(config.udp), "window": .number(JSONNumber(config.window)),
                "udpWindow": .number(JSONNumber(config.udpWindow)), "droppedReports": .number(JSONNumber(droppedReports)),
            ]
            if let port = tox.udpPort { o["udpPort"] = .number(JSONNumber(Int(port))) }
            return o
        }
    }

    let config: NodeConfig
    private let deliver: Deliver
    private let core = Mutex<Core?>(nil)
    private let deliveriesInFlight = Atomic<Int>(0)
    /// Reports wait for room among the deliveries in flight: an answer then wakes the loop to send them.
    private let reportsWaiting = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let exited = Atomic<Bool>(false)
    /// Until when (`nowMs`) the loop turns every 1 ms rather than at toxcore's idle interval.
    private let fastUntil = Atomic<Int64>(0)
    /// The loop is in its sleep between turns.
    private let sleeping = Atomic<Bool>(false)
    /// A pipe: a byte on [1] wakes the loop from its sleep on [0].
    private let wake: (read: Int32, write: Int32)
    /// Filled in by the loop thread once the instance exists: (public key, address) or the start error.
    let identity = Mutex<Result<([UInt8], [UInt8]), ToxError>?>(nil)

    init(config: NodeConfig, deliver: @escaping Deliver) {
        self.config = config
        self.deliver = deliver
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
    }

    private func wakeLoop() {
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
    }

    /// Traffic: the loop turns fast for the next half second; woken if it was sleeping its idle interval.
    private func noteActivity() {
        let now = nowMs()
        if fastUntil.exchange(now + 500, ordering: .relaxed) < now { wakeLoop() }
    }

    /// Runs `body` on the instance; nil while it does not exist yet (or failed to start).
    private func withCore<T: Sendable>(_ body: (inout Core) throws(PluginError) -> T) throws(PluginError) -> T {
        let result: Result<T, PluginError> = core.withLock { c in
            guard c != nil else { return .failure(.failed("the carrier is starting")) }
            do throws(PluginError) { return .success(try body(&c!)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    func stop() async {
        stopping.store(true, ordering: .relaxed)
        wakeLoop()
        for _ in 0..<200 where !exited.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Starts the loop thread; returns once the Tox instance exists (or failed to).
    func start() async throws(PluginError) {
        let started = PosixThread.detach { [self] in self.loop() }
        guard started else { throw PluginError.failed("cannot start the Tox thread") }
        for _ in 0..<500 {
            if let r = identity.withLock({ $0 }) {
                switch r {
                case .success: return
                case .failure(let e): throw PluginError.failed("\(e)")
                }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw PluginError.failed("the Tox instance did not start within 5 s")
    }

    // MARK: the host's requests (any thread)

    func status() throws(PluginError) -> JSONObject { try withCore { $0.status() } }

    /// Adds a friend by address with a request carrying `message`; `replace` first deletes one with the same key.
    func addFriend(address: [UInt8], message: [UInt8], replace: Bool) throws(PluginError) -> [UInt8] {
        defer { noteActivity() }
        return try withCore { c throws(PluginError) in
            let key = Array(address.prefix(32))
            if replace, let existing = c.tox.friend(publicKey: key) {
                c.tox.deleteFriend(existing)
                c.friends[existing] = nil
            }
            do { _ = try c.tox.addFriend(address: address, message: message) } catch { throw PluginError.failed("\(error)") }
            return key
        }
    }

    func accept(_ keys: [[UInt8]]) throws(PluginError) {
        defer { noteActivity() }
        try withCore { c in for key in keys { _ = try? c.tox.addFriendNoRequest(publicKey: key) } }
    }

    func remove(_ key: [UInt8]) throws(PluginError) {
        try withCore { c in
            if let n = c.tox.friend(publicKey: key) {
                c.tox.deleteFriend(n)
                c.friends[n] = nil
            }
        }
    }

    /// toxcore reports one request per key and then ignores that key; deleting a friend clears the record
    /// (m_delfriend), so a friend added and deleted at once is heard again. Never touches a real friend.
    func forget(_ key: [UInt8]) throws(PluginError) {
        try withCore { c in
            if c.tox.friend(publicKey: key) == nil, (try? c.tox.addFriendNoRequest(publicKey: key)) != nil,
                let n = c.tox.friend(publicKey: key)
            {
                c.tox.deleteFriend(n)
            }
        }
    }

    /// Chunks `text` for friend `key` and sends what the window allows now; the rest follows as receipts come.
    /// Returns the number of chunks.
    func send(key: [UInt8], text: [UInt8]) throws(PluginError) -> Int {
        defer {
            noteActivity()
            // The loop turns now and sleeps its 1 ms from here, as a plain toxcore loop iterates right after it sends.
            // A reply coming back within 1 ms is then read one turn after the send, not at a turn whose phase has
            // nothing to do with it (which took two turns about half the time: docs/carrier.md).
            if sleeping.load(ordering: .relaxed) { wakeLoop() }
        }
        return try withCore { c throws(PluginError) in
            guard let n = c.tox.friend(publicKey: key) else { throw PluginError.failed("no friend \(encodeHex(key))") }
            guard c.tox.connection(ofFriend: n).isOnline else { throw PluginError.failed("friend \(encodeHex(key)) is offline") }
            let chunks: [[UInt8]]
            do { chunks = try ChunkCodec.split(text, id: c.nextMessageID) } catch { throw PluginError.invalidParams("\(error)") }
            c.nextMessageID &+= 1
            var f = c.friendState(n)
            f.window.enqueue(chunks)
            c.friends[n] = f
            _ = c.flush(n)
            return chunks.count
        }
    }

    // MARK: the loop thread

    /// `host` as a numeric IPv4 address (resolved with the system resolver when it is a name); nil when it cannot be
    /// resolved now (the next bootstrap round, 10 s later, tries again).
    static func numericHost(_ host: String) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN) + 1)
        guard let sa = first.pointee.ai_addr else { return nil }
        let ok = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
            var addr = sin.pointee.sin_addr
            return inet_ntop(AF_INET, &addr, &text, socklen_t(text.count)) != nil
        }
        return ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    private func loop() {
        defer { exited.store(true, ordering: .relaxed) }
        var options = ToxOptions()
        options.udpEnabled = config.udp
        options.localDiscoveryEnabled = config.lan
        options.secretKey = config.secretKey
        let config = self.config
        let created: Result<([UInt8], [UInt8]), ToxError> = core.withLock { c in
            do throws(ToxError) {
                let tox = try Tox(options)
                if let nospam = config.nospam { tox.nospam = nospam }
                c = Core(tox: tox, config: config)
                // First: the host learns who we are and hands back its stored friends.
                c?.report("carrier.started", ["publicKey": .string(encodeHex(tox.publicKey)), "address": .string(encodeHex(tox.address))])
                return .success((tox.publicKey, tox.address))
            } catch {
                return .failure(error)
            }
        }
        identity.withLock { $0 = created }
        guard case .success = created else { return }

        while !stopping.load(ordering: .relaxed) {
            let now = nowMs()
            if core.withLock({ $0?.bootstrapDue(now: now) ?? false }) {
                let resolve = { (nodes: [NodeConfig.Node]) in nodes.compactMap { n in Self.numericHost(n.host).map { NodeConfig.Node(host: $0, port: n.port, key: n.key) } } }
                let (bootstrap, relays) = (resolve(config.bootstrap), resolve(config.relays))
                core.withLock { $0?.bootstrap(bootstrap: bootstrap, relays: relays) }
            }
            let (busy, idleMs, reports) = core.withLock { c -> (Bool, Int, [(String, JSONObject)]) in
                guard c != nil else { return (false, 50, []) }
                let busy = c!.turn(now: now)
                let room = Self.maxDeliveriesInFlight - deliveriesInFlight.load(ordering: .relaxed)
                let reports = c!.takeReports(room)
                reportsWaiting.store(c!.hasReports, ordering: .relaxed)
                return (busy, c!.tox.iterationIntervalMs, reports)
            }
            // Outside the lock (an answer may come, or fail, on this very thread): in order, from this thread only.
            for (method, params) in reports {
                deliveriesInFlight.add(1, ordering: .relaxed)
                deliver(method, params) { [self] answer in
                    deliveriesInFlight.subtract(1, ordering: .relaxed)
                    // The host answers our start with the friends it keeps (a restarted carrier knows none).
                    if method == "carrier.started", let keys = answer?["accept"]?.arrayValue {
                        try? accept(keys.compactMap { $0.stringValue.flatMap(decodeHex) }.filter { $0.count == 32 })
                    }
                    if reportsWaiting.load(ordering: .relaxed) { wakeLoop() }
                }
            }
            if busy { fastUntil.store(max(fastUntil.load(ordering: .relaxed), now + 500), ordering: .relaxed) }
            // Fast (1 ms) while traffic flows or flowed in the last half second, toxcore's interval when idle.
            let fast = fastUntil.load(ordering: .relaxed) > nowMs()
            var p = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
            sleeping.store(true, ordering: .relaxed)
            _ = poll(&p, 1, Int32(fast ? 1 : max(1, idleMs)))
            sleeping.store(false, ordering: .relaxed)
            if p.revents & Int16(POLLIN) != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                _ = read(wake.read, &drain, 256)
            }
        }
    }
}

enum PluginLog {
    static func line(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.append(0x0A)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

func nowMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

func encodeHex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

func decodeHex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    func v(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
    var out: [UInt8] = []
    var i = 0
    while i < chars.count {
        guard let hi = v(chars[i]), let lo = v(chars[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

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

/// The Tox instance and its loop on a thread of its own. toxcore is not thread-safe, so only that thread touches the
/// `Tox`: requests from the host arrive as commands (an eventfd wakes the loop), and what toxcore reports during
/// `tox_iterate` leaves as an ordered stream of deliveries for the host.
final class CarrierNode: Sendable {
    enum Command: Sendable {
        case status(@Sendable (JSONObject) -> Void)
        case addFriend(address: [UInt8], message: [UInt8], replace: Bool, @Sendable (Result<[UInt8], ToxError>) -> Void)
        case accept([[UInt8]])
        case remove([UInt8])
        case forget([UInt8])
        case send(key: [UInt8], text: [UInt8], @Sendable (Result<Int, PluginError>) -> Void)
    }

    let config: NodeConfig
    let deliveries: AsyncStream<(String, JSONObject)>
    private let continuation: AsyncStream<(String, JSONObject)>.Continuation
    private let commands = Mutex<[Command]>([])
    private let stopping = Atomic<Bool>(false)
    private let exited = Atomic<Bool>(false)
    /// A pipe: commands write a byte to [1], the loop polls [0].
    private let wake: (read: Int32, write: Int32)
    /// Filled in by the loop thread once the instance exists: (public key, address) or the start error.
    let identity = Mutex<Result<([UInt8], [UInt8]), ToxError>?>(nil)

    init(config: NodeConfig) {
        self.config = config
        (deliveries, continuation) = AsyncStream.makeStream(of: (String, JSONObject).self, bufferingPolicy: .bufferingNewest(100_000))
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wake = (fds[0], fds[1])
    }

    func submit(_ c: Command) {
        commands.withLock { $0.append(c) }
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
    }

    func stop() async {
        stopping.store(true, ordering: .relaxed)
        var one: UInt8 = 1
        _ = write(wake.write, &one, 1)
        for _ in 0..<200 where !exited.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
        continuation.finish()
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

    // MARK: the loop thread

    struct Friend {
        var window: SendWindow
        var reassembler = Reassembler()
        var connection = ToxConnection.none
    }

    private func loop() {
        defer { exited.store(true, ordering: .relaxed) }
        var options = ToxOptions()
        options.udpEnabled = config.udp
        options.localDiscoveryEnabled = config.lan
        options.secretKey = config.secretKey
        let tox: Tox
        do { tox = try Tox(options) } catch {
            identity.withLock { $0 = .failure(error) }
            return
        }
        if let nospam = config.nospam { tox.nospam = nospam }
        identity.withLock { $0 = .success((tox.publicKey, tox.address)) }
        var friends: [UInt32: Friend] = [:]
        var nextMessageID: UInt32 = UInt32.random(in: 0...UInt32.max)
        var lastActivity = nowMs()
        var lastBootstrap: Int64 = 0
        var selfConnection = ToxConnection.none

        func deliver(_ method: String, _ params: JSONObject) { continuation.yield((method, params)) }
        // First: the host learns who we are and hands back its stored friends.
        deliver("carrier.started", ["publicKey": .string(encodeHex(tox.publicKey)), "address": .string(encodeHex(tox.address))])
        func friendState(_ n: UInt32) -> Friend { friends[n] ?? Friend(window: SendWindow(limit: config.window)) }

        while !stopping.load(ordering: .relaxed) {
            let now = nowMs()
            // Bootstrap at start and again every 10 s while we are offline.
            if selfConnection == .none && now - lastBootstrap > 10_000 {
                lastBootstrap = now
                for n in config.bootstrap { try? tox.bootstrap(host: n.host, port: n.port, publicKey: n.key) }
                for n in config.relays { try? tox.addTCPRelay(host: n.host, port: n.port, publicKey: n.key) }
            }
            for command in commands.withLock({ c in defer { c.removeAll() }; return c }) {
                lastActivity = now
                switch command {
                case .status(let reply):
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
                        "udpWindow": .number(JSONNumber(config.udpWindow)),
                    ]
                    if let port = tox.udpPort { o["udpPort"] = .number(JSONNumber(Int(port))) }
                    reply(o)
                case .addFriend(let address, let message, let replace, let reply):
                    let key = Array(address.prefix(32))
                    if replace, let existing = tox.friend(publicKey: key) {
                        tox.deleteFriend(existing)
                        friends[existing] = nil
                    }
                    do { _ = try tox.addFriend(address: address, message: message); reply(.success(key)) } catch { reply(.failure(error)) }
                case .accept(let keys):
                    for key in keys { _ = try? tox.addFriendNoRequest(publicKey: key) }
                case .remove(let key):
                    if let n = tox.friend(publicKey: key) {
                        tox.deleteFriend(n)
                        friends[n] = nil
                    }
                case .forget(let key):
                    // toxcore reports one request per key and then ignores that key; deleting a friend clears the
                    // record (m_delfriend), so a friend added and deleted at once is heard again. Never a real friend.
                    if tox.friend(publicKey: key) == nil, (try? tox.addFriendNoRequest(publicKey: key)) != nil,
                        let n = tox.friend(publicKey: key)
                    {
                        tox.deleteFriend(n)
                    }
                case .send(let key, let text, let reply):
                    guard let n = tox.friend(publicKey: key) else { reply(.failure(.failed("no friend \(encodeHex(key))"))); continue }
                    guard tox.connection(ofFriend: n).isOnline else { reply(.failure(.failed("friend \(encodeHex(key)) is offline"))); continue }
                    do {
                        let chunks = try ChunkCodec.split(text, id: nextMessageID)
                        nextMessageID &+= 1
                        var f = friendState(n)
                        f.window.enqueue(chunks)
                        friends[n] = f
                        reply(.success(chunks.count))
                    } catch { reply(.failure(.invalidParams("\(error)"))) }
                }
            }

            let events = tox.iterate()
            if !events.isEmpty { lastActivity = nowMs() }
            for event in events {
                switch event {
                case .selfConnection(let c):
                    selfConnection = c
                    deliver("carrier.connection", ["connection": .string(c.rawValue)])
                case .friendRequest(let key, let message):
                    deliver("carrier.request", ["key": .string(encodeHex(key)), "message": .string(String(decoding: message, as: UTF8.self))])
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
                        deliver("carrier.connection", ["key": .string(encodeHex(key)), "connection": .string(c.rawValue)])
                    }
                case .friendMessage(let n, let bytes):
                    var f = friendState(n)
                    do {
                        if let whole = try f.reassembler.accept(bytes, nowMs: nowMs()), let key = tox.publicKey(ofFriend: n) {
                            deliver("carrier.message", ["key": .string(encodeHex(key)), "text": .string(String(decoding: whole, as: UTF8.self))])
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

            // Send what the windows allow.
            var busy = false
            for n in Array(friends.keys) {
                guard var f = friends[n] else { continue }
                while let chunk = f.window.next {
                    do { f.window.sent(id: try tox.sendMessage(friend: n, chunk)) } catch { break }
                }
                if f.window.waiting > 0 || !f.window.inFlight.isEmpty { busy = true }
                friends[n] = f
            }
            // Fast (1 ms) while traffic flows or flowed in the last half second, toxcore's interval when idle.
            let fast = busy || nowMs() - lastActivity < 500
            var p = pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, Int32(fast ? 1 : max(1, tox.iterationIntervalMs)))
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

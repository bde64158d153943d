#if canImport(Glibc)
import Glibc
#endif
import ElaControl
import ElaControlServer
import ElaJSON
import ElaTestSupport
import Logging
import NIOCore
import Synchronization
import Testing

/// Clients block, so they run on threads of their own (`onOwnThread`), never on the pool the server needs.
/// The server over a real unix socket: where handlers run. (No test blocks a thread of the shared pool on purpose:
/// with two cores that starves every other suite in the process.)
@Suite struct ControlServerTests {
    /// Runs a server with `methods` until `body` returns.
    static func withServer(
        onLoop: Bool, _ methods: (ControlServer.Box) -> [String: ControlHandler.Method], _ body: (String, ControlServer.Box) async throws -> Void
    ) async throws {
        let dir = TemporaryDirectory(prefix: "ela-ctl")
        defer { dir.remove() }
        let path = dir.path + "/control.sock"
        let box = ControlServer.Box()
        let ready = Atomic<Bool>(false)
        let server = ControlServer(
            path: path, mode: 0o600, handler: ControlHandler(methods: methods(box)), logger: Logger(label: "test"),
            handlersOnEventLoop: onLoop
        ) { ready.store(true, ordering: .sequentiallyConsistent) }
        box.server.withLock { $0 = server }
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(10)
        while !ready.load(ordering: .sequentiallyConsistent) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await body(path, box)
    }

    static func loopMethods(_ box: ControlServer.Box) -> [String: ControlHandler.Method] {
        [
            "where": { _ in .bool(box.server.withLock { $0 }?.eventLoop.inEventLoop ?? false) },
            "whereOffLoop": { _ in await offLoop { .bool(box.server.withLock { $0 }?.eventLoop.inEventLoop ?? true) } },
        ]
    }

    @Test func handlersRunOnTheEventLoopWhenAsked() async throws {
        try await Self.withServer(onLoop: true, Self.loopMethods) { path, box in
            let client = ControlClient(socketPath: path)
            let onLoop = try await onOwnThread { try client.call("where") }
            let offLoop = try await onOwnThread { try client.call("whereOffLoop") }
            #expect(onLoop == .bool(true))
            #expect(offLoop == .bool(false))
        }
    }

    /// A handler in a long wait hears that its client hung up, so the wait (and the task) ends then, not at its
    /// timeout; outside a connection `whileConnected` just runs its body.
    @Test func aLongWaitEndsWhenItsClientHangsUp() async throws {
        let hungUp = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        let wake = Mutex<CheckedContinuation<Void, Never>?>(nil)
        try await Self.withServer(
            onLoop: true,
            { _ in
                ["wait": { _ in
                    await ControlPeer.whileConnected(onHangUp: {
                        hungUp.add(1, ordering: .relaxed)
                        wake.withLock { $0.take() }?.resume()
                    }) {
                        await withCheckedContinuation { c in wake.withLock { $0 = c } }
                    }
                    finished.add(1, ordering: .relaxed)
                    return .bool(true)
                }]
            }
        ) { path, _ in
            let fd = try ControlClient.connect(socketPath: path)
            let request = ControlRequest(id: 1, method: "wait", params: [:]).encoded()
            _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let deadline = ContinuousClock.now + .seconds(20)
            while wake.withLock({ $0 == nil }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(finished.load(ordering: .relaxed) == 0, "still waiting while the client is there")
            close(fd)
            while finished.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(finished.load(ordering: .relaxed) == 1)
            #expect(hungUp.load(ordering: .relaxed) == 1)
        }
        let direct = await ControlPeer.whileConnected(onHangUp: { hungUp.add(1, ordering: .relaxed) }) { 7 }
        #expect(direct == 7 && hungUp.load(ordering: .relaxed) == 1)
    }

    @Test func handlersRunOnThePoolByDefault() async throws {
        try await Self.withServer(onLoop: false, Self.loopMethods) { path, box in
            let onLoop = try await onOwnThread { try ControlClient(socketPath: path).call("where") }
            #expect(onLoop == .bool(false))
        }
    }
}

/// Requests pipelined on one connection, and an oversize one, over a raw socket.
@Suite struct ControlConnectionTests {
    /// Writes `bytes` to a new connection to `path`, then reads until `lines` answers (or the end) came back.
    static func exchange(_ path: String, _ bytes: [UInt8], lines: Int) throws -> [String] {
        let fd = try ControlClient.connect(socketPath: path)
        defer { close(fd) }
        return try exchange(fd: fd, bytes, lines: lines)
    }

    /// Sends `bytes` on an open connection and reads `lines` answer lines.
    static func exchange(fd: Int32, _ bytes: [UInt8], lines: Int) throws -> [String] {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        var received: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while received.filter({ $0 == 0x0A }).count < lines {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            received.append(contentsOf: buf[0..<n])
        }
        return received.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await ControlServerTests.withServer(
            onLoop: true,
            { _ in
                // The first takes longest: answers must still come back in request order.
                ["wait": { params in
                    let ms = params["ms"]?.numberValue?.int64Value ?? 0
                    try? await Task.sleep(for: .milliseconds(ms))
                    return .number(JSONNumber(ms))
                }]
            }
        ) { path, _ in
            var frames: [UInt8] = []
            for (id, ms) in [(1, 60), (2, 0), (3, 20)] {
                frames += ControlRequest(id: Int64(id), method: "wait", params: ["ms": .number(JSONNumber(ms))]).encoded()
            }
            let request = frames
            let answers = try await onOwnThread { try Self.exchange(path, request, lines: 3) }
            let ids = answers.compactMap { try? ControlResponse(frame: Array($0.utf8)).id }
            #expect(ids == [1, 2, 3], "\(answers)")
        }
    }

    @Test func requestsTrickledAByteAtATimeAreFramedRight() async throws {
        try await ControlServerTests.withServer(onLoop: true, { _ in ["echo": { params in .object(params) }] }) { path, _ in
            let request = ControlRequest(id: 1, method: "echo", params: ["n": 1]).encoded() + ControlRequest(id: 2, method: "echo", params: ["n": 2]).encoded()
            let answers = try await onOwnThread { () throws -> [String] in
                let fd = try ControlClient.connect(socketPath: path)
                defer { close(fd) }
                for byte in request {
                    var b = byte
                    _ = send(fd, &b, 1, Int32(MSG_NOSIGNAL))
                }
                var received: [UInt8] = []
                var buf = [UInt8](repeating: 0, count: 4096)
                while received.filter({ $0 == 0x0A }).count < 2 {
                    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    received.append(contentsOf: buf[0..<n])
                }
                return received.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            }
            let results = answers.compactMap { try? ControlResponse(frame: Array($0.utf8)).outcome.get()["n"]?.numberValue?.int64Value }
            #expect(results == [1, 2], "\(answers)")
        }
    }

    @Test func connectionsPastTheCapAreToldWhyAndClosed() async throws {
        try await ControlServerTests.withServer(onLoop: true, { _ in ["echo": { params in .object(params) }] }) { path, _ in
            let answer = try await onOwnThread { () throws -> (String, String) in
                var open: [Int32] = []
                defer { open.forEach { close($0) } }
                for _ in 0..<ControlServer.maxConnections { open.append(try ControlClient.connect(socketPath: path)) }
                // The ones inside the cap are served...
                let inside = try Self.exchange(fd: open[0], ControlRequest(id: 1, method: "echo", params: ["n": 1]).encoded(), lines: 1)
                // ...the next is told why and closed.
                let extra = try ControlClient.connect(socketPath: path)
                defer { close(extra) }
                var received: [UInt8] = []
                var buf = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buf.withUnsafeMutableBytes { read(extra, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    received.append(contentsOf: buf[0..<n])
                }
                return (inside.first ?? "", String(decoding: received, as: UTF8.self))
            }
            #expect(answer.0.contains("\"n\":1"), "\(answer.0)")
            #expect(answer.1.contains("too many control connections"), "\(answer.1)")
        }
    }

    @Test func anOversizeRequestIsAnsweredAfterTheOnesBeforeItThenTheConnectionCloses() async throws {
        try await ControlServerTests.withServer(onLoop: true, { _ in ["ok": { _ in .bool(true) }] }) { path, _ in
            let first = ControlRequest(id: 7, method: "ok", params: [:]).encoded()
            let huge = first + [UInt8](repeating: 0x61, count: ControlProtocol.maxFrameBytes + 10)
            let answers = try await onOwnThread { try Self.exchange(path, huge, lines: 3) }
            #expect(answers.count == 2, "\(answers)")
            let earlier = try? ControlResponse(frame: Array((answers.first ?? "").utf8))
            #expect(earlier?.id == 7 && (try? earlier?.outcome.get()) == .bool(true), "\(answers)")
            #expect(answers.last?.contains("\(ControlError.frameTooLarge)") == true, "\(answers)")
        }
    }

    @Test func aClientPipeliningManyRequestsGetsEveryAnswerInOrder() async throws {
        // More than the read-ahead limit: reading pauses and resumes, nothing is lost.
        try await ControlServerTests.withServer(onLoop: true, { _ in ["echo": { params in params["n"] ?? .null }] }) { path, _ in
            var frames: [UInt8] = []
            for n in 0..<300 { frames += ControlRequest(id: Int64(n), method: "echo", params: ["n": .number(JSONNumber(n))]).encoded() }
            let request = frames
            let answers = try await onOwnThread { try Self.exchange(path, request, lines: 300) }
            let ids = answers.compactMap { try? ControlResponse(frame: Array($0.utf8)).id }
            #expect(ids == (0..<300).map { Int64($0) })
        }
    }
}

extension ControlServer {
    /// Lets a test's handlers reach the server they run in.
    final class Box: Sendable {
        let server = Mutex<ControlServer?>(nil)
    }
}

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

    @Test func handlersRunOnThePoolByDefault() async throws {
        try await Self.withServer(onLoop: false, Self.loopMethods) { path, box in
            let onLoop = try await onOwnThread { try ControlClient(socketPath: path).call("where") }
            #expect(onLoop == .bool(false))
        }
    }
}

extension ControlServer {
    /// Lets a test's handlers reach the server they run in.
    final class Box: Sendable {
        let server = Mutex<ControlServer?>(nil)
    }
}

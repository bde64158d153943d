#if canImport(Glibc)
    import Glibc
#endif
import ElaChain
import ElaControl
import ElaJSON
import ElaMerkle
import ElaP2P
import ElaRegtest
import ElaTestSupport
import ElaWire
import Logging
import NIOCore
import NIOPosix
import Testing

/// A logger that drops everything (the in-process node is chatty at info level).
/// Set `ELA_REGTEST_TEST_LOG=1` to see the node's log on stderr.
let quietLogger: Logger = {
    guard getenv("ELA_REGTEST_TEST_LOG") != nil else { return Logger(label: "ela-regtest-test") { _ in SwiftLogNoOpLogHandler() } }
    var logger = Logger(label: "ela-regtest-test") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .debug
    return logger
}()

let regnetMagic = ChainParameters.elaRegnet.p2pMagic

/// user4's `create` request from the shared DID vectors.
func user4CreateRequest() throws -> JSONValue {
    let path = TestData.path("elastos-did/derived/user4.didrequest.create.json")
    let text = try #require(TestData.readString(path), "missing test vector \(path)")
    return try JSONParser.parse(text)
}

/// Runs blocking work (sockets, child processes) off the Swift concurrency pool, so the in-process node keeps
/// its threads.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}

struct TimedOut: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "timed out after \(seconds) s" }
}

/// Runs `body`, cancelling it (and failing) after `seconds`.
func withTimeout<T: Sendable>(_ seconds: Double = 30, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(seconds: seconds) }
        return value
    }
}

/// A node running in this process on an ephemeral port, in its own temporary data directory.
struct InProcessNode: Sendable {
    let daemon: RegtestDaemon
    let task: Task<Void, any Error>
    let directory: TemporaryDirectory

    var node: RegtestNode { daemon.node }
    var port: Int { daemon.p2pPort }
    var control: ControlClient { ControlClient(socketPath: daemon.controlSocketPath, timeoutSeconds: 30) }

    static func start(in directory: TemporaryDirectory = TemporaryDirectory(prefix: "ela-regtest")) async throws -> InProcessNode {
        let (ready, readyContinuation) = AsyncStream.makeStream(of: String.self)
        let options = RegtestOptions(dataDirectory: directory.path + "/data", p2pPort: 0)
        let daemon = try await RegtestDaemon.start(options, logger: quietLogger, onReady: { readyContinuation.yield($0) })
        let task = Task { try await daemon.run() }
        var lines = ready.makeAsyncIterator()
        _ = await lines.next()
        return InProcessNode(daemon: daemon, task: task, directory: directory)
    }

    /// A control call made from a thread-pool thread (`ControlClient` blocks).
    func call(_ method: String, _ params: JSONObject = JSONObject()) async throws -> JSONValue {
        let client = control
        return try await blocking { try client.call(method, params: params) }
    }

    /// Shuts down gracefully and waits; the data directory stays unless `removeDirectory`.
    func stop(removeDirectory: Bool = true) async throws {
        await daemon.shutdown()
        try await task.value
        if removeDirectory { directory.remove() }
    }
}

/// A raw P2P peer over TCP, framing with `P2PFrameDecoder` (the node's own `FrameDecoder` glue).
struct TestPeer {
    var inbound: NIOAsyncChannelInboundStream<MessageFrame>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var magic = regnetMagic

    /// Connects to `port`, runs `body`, closes.
    static func with<T: Sendable>(port: Int, _ body: (inout TestPeer) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(P2PFrameDecoder(magic: regnetMagic)))
                    return try NIOAsyncChannel<MessageFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var peer = TestPeer(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(&peer)
        }
    }

    func send(_ message: P2PMessage) async throws { try await sendRaw(message.encoded(magic: magic)) }

    func sendRaw(_ bytes: [UInt8]) async throws { try await outbound.write(ByteBuffer(bytes: bytes)) }

    /// The next message; nil once the node closed the connection (or reset it).
    mutating func receive() async throws -> P2PMessage? {
        let frame: MessageFrame?
        do { frame = try await inbound.next() } catch is CancellationError { throw CancellationError() } catch { return nil }
        guard let frame else { return nil }
        if getenv("ELA_REGTEST_TEST_LOG") != nil { print("test peer received \(frame.command) (\(frame.payload.count) bytes)") }
        return try P2PMessage(frame: frame)
    }

    /// The next message, which must exist.
    mutating func expectMessage(_ comment: Comment? = nil) async throws -> P2PMessage {
        try #require(try await receive(), comment ?? "the node closed the connection")
    }

    /// version -> version + verack, then our verack.
    mutating func handshake() async throws -> VersionMessage {
        try await send(.version(VersionMessage(
            version: 20000, services: 0, timestamp: 1_700_000_000, port: 0, nonce: 42, height: 0, relay: false)))
        guard case .version(let theirs) = try await expectMessage() else {
            Issue.record("expected version first")
            throw TimedOut(seconds: 0)
        }
        #expect(try await expectMessage() == .verack)
        try await send(.verack)
        return theirs
    }

    /// Whether the node closes the connection (reading and dropping whatever it still sends).
    mutating func isDisconnected() async throws -> Bool {
        while try await receive() != nil {}
        return true
    }
}

/// A filter that matches `element` (and, at this size, practically nothing else).
func filter(matching element: [UInt8]) -> BloomFilter {
    var f = BloomFilter(elements: 1, falsePositiveRate: 1e-6, tweak: 0x5EED, flags: BloomFilter.updateNone)
    f.insert(element)
    return f
}

#if canImport(Glibc)
import Glibc
#endif
public import ElaJSON
public import ElaPluginKit
public import ElaPluginProtocol

public struct TestHostError: Error, CustomStringConvertible {
    public var description: String
}

/// The host's side of a plugin connection, written from the protocol page: frames over one end of a socketpair.
/// Reads poll a non-blocking socket with short sleeps, so a waiting test never occupies a concurrency-pool thread
/// the plugin's handlers need.
public final class TestHost: @unchecked Sendable {  // used by one test task at a time
    public let fd: Int32
    public let pluginFD: Int32
    private var decoder = PluginFrameDecoder()
    private var closed = false

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw TestHostError(description: "socketpair failed")
        }
        fd = fds[0]
        pluginFD = fds[1]
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// Starts `definition` on the plugin end, in this process.
    public static func start(
        _ definition: PluginDefinition, configure: (inout PluginMain.Options) -> Void = { _ in }
    ) throws -> (TestHost, Task<Int32, Never>) {
        let host = try TestHost()
        var options = PluginMain.Options()
        options.handleSignals = false
        configure(&options)
        let pluginFD = host.pluginFD
        let task = Task { await PluginMain.run(definition, fd: pluginFD, options: options) }
        return (host, task)
    }

    public func send(_ message: PluginMessage) { sendRaw(message.encoded()) }

    public func sendRaw(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && (errno == EAGAIN || errno == EINTR) {
                    usleep(1000)
                    continue
                }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    /// The next message from the plugin, or an error after `timeout` or at end of stream.
    public func receive(timeout: Duration = .seconds(10)) async throws -> PluginMessage {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let payload = try decoder.next() { return try PluginMessage(payload: payload) }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 {
                decoder.append(buffer[0..<n])
                continue
            }
            if n == 0 { throw TestHostError(description: "end of stream") }
            guard errno == EAGAIN || errno == EINTR else { throw TestHostError(description: "recv: \(errno)") }
            guard clock.now < deadline else { throw TestHostError(description: "no message within \(timeout)") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Receives until the answer to `id` arrives; notifications met on the way are returned too.
    public func answer(to id: Int64, timeout: Duration = .seconds(10)) async throws -> (PluginMessage, [PluginMessage]) {
        var others: [PluginMessage] = []
        while true {
            let m = try await receive(timeout: timeout)
            switch m {
            case .response(let i, _) where i == id, .failure(let i?, _) where i == id: return (m, others)
            default: others.append(m)
            }
        }
    }

    public func call(_ id: Int64, _ method: String, _ params: JSONObject = JSONObject()) async throws -> PluginMessage {
        send(.request(id: id, method: method, params: params))
        return try await answer(to: id).0
    }

    @discardableResult
    public func handshake(config: JSONObject = JSONObject(), versions: [Int] = [1]) async throws -> PluginHandshake.Welcome {
        let hello = PluginHandshake.Hello(versions: versions, host: "test-host", config: config)
        let m = try await call(1, PluginHandshake.method, hello.params)
        guard case .response(_, let result) = m else { throw TestHostError(description: "hello failed: \(m)") }
        return try PluginHandshake.Welcome(result: result, offered: versions)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit {
        close()
        Glibc.close(pluginFD)
    }
}

extension PluginMessage {
    public var result: JSONValue? {
        if case .response(_, let r) = self { return r }
        return nil
    }
    public var error: PluginProtocolError? {
        if case .failure(_, let e) = self { return e }
        return nil
    }
}

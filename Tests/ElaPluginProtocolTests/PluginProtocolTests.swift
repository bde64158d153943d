#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaPluginProtocol
import ElaTestSupport
import Testing

@Suite struct PluginFramingTests {
    @Test func messagesRoundTrip() throws {
        let messages: [PluginMessage] = [
            .request(id: 1, method: "gpio.write", params: JSONObject([("pin", "LED0"), ("value", 1)])),
            .response(id: 1, result: .object(JSONObject([("ok", true)]))),
            .failure(id: 2, PluginProtocolError(.pluginError, "line LED0 is held by another request")),
            .failure(id: nil, PluginProtocolError(.parseError, "bad")),
            .notification(method: "sensors.reading", params: JSONObject([("celsius", .number(JSONNumber(21.5)!))])),
        ]
        var decoder = PluginFrameDecoder()
        for m in messages { decoder.append(m.encoded()) }
        for m in messages {
            let payload = try #require(try decoder.next())
            #expect(try PluginMessage(payload: payload) == m)
        }
        #expect(try decoder.next() == nil)
    }

    @Test func framesArriveInPiecesAndOversizeIsRefused() throws {
        let bytes = PluginMessage.notification(method: "x.y", params: JSONObject()).encoded()
        var d = PluginFrameDecoder()
        var got = 0
        for b in bytes + bytes {
            d.append([b])
            while let p = try d.next() {
                #expect(try PluginMessage(payload: p) == .notification(method: "x.y", params: JSONObject()))
                got += 1
            }
        }
        #expect(got == 2)
        var big = PluginFrameDecoder(maxFrame: 1024)
        big.append([0x00, 0x10, 0x00, 0x00])
        #expect(throws: PluginProtocolError.self) { try big.next() }
    }

    @Test(arguments: [
        "not json", "[]", #"{"id":1,"method":"a"}"#, #"{"jsonrpc":"2.0","id":"x","method":"a"}"#,
        #"{"jsonrpc":"2.0","id":1,"method":""}"#, #"{"jsonrpc":"2.0","id":1,"method":"a","params":[1]}"#,
        #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#,
    ])
    func malformedMessagesAreTypedErrors(_ text: String) {
        #expect(throws: PluginProtocolError.self) { try PluginMessage(payload: Array(text.utf8)) }
    }

    @Test func handshakeChecksTheChosenVersion() throws {
        let ok = PluginHandshake.Welcome(version: 1, name: "gpio", pluginVersion: "0.1", methods: ["gpio.read"], events: [])
        #expect(try PluginHandshake.Welcome(result: ok.result, offered: [1]) == ok)
        var newer = ok
        newer.version = 7
        #expect(throws: PluginProtocolError.self) { try PluginHandshake.Welcome(result: newer.result, offered: [1]) }
        #expect(throws: PluginProtocolError.self) { try PluginHandshake.Welcome(result: .object(JSONObject()), offered: [1]) }
    }
}

/// A plugin in another language (Python), written from docs/plugin-protocol.md, spoken to over a real socketpair.
@Suite(.ownThread) struct PythonPluginTests {
    @Test(.enabled(if: access("/usr/bin/python3", X_OK) == 0)) func aPythonPluginSpeaksTheProtocol() throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        let host = fds[0]
        defer { close(host) }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let script = TestData.repoRoot + "/Tests/ElaPluginProtocolTests/Fixtures/echo_plugin.py"
        let plugin = try ChildProcess("/usr/bin/python3", [script], outputDirectory: dir.path, fd3: fds[1])
        close(fds[1])
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(host, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        var decoder = PluginFrameDecoder()
        func send(_ m: PluginMessage) {
            let bytes = m.encoded()
            _ = bytes.withUnsafeBytes { write(host, $0.baseAddress, $0.count) }
        }
        func receive() throws -> PluginMessage {
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                if let payload = try decoder.next() { return try PluginMessage(payload: payload) }
                let n = buf.withUnsafeMutableBytes { read(host, $0.baseAddress, $0.count) }
                guard n > 0 else { throw ChildProcessError(message: "plugin closed or timed out: \(plugin.stderr)") }
                decoder.append(buf[0..<n])
            }
        }

        // Before the handshake nothing else is served.
        send(.request(id: 1, method: "echo.say", params: JSONObject([("text", "early")])))
        guard case .failure(1, let early) = try receive() else { Issue.record("expected an error before hello"); return }
        #expect(early.kind == .notReady)

        send(.request(id: 2, method: PluginHandshake.method, params: PluginHandshake.Hello(host: "ela-agent test").params))
        guard case .response(2, let result) = try receive() else { Issue.record("expected the hello answer"); return }
        let welcome = try PluginHandshake.Welcome(result: result, offered: PluginHandshake.supportedVersions)
        #expect(welcome.name == "echo" && welcome.methods == ["echo.say"] && welcome.events == ["echo.tick"])

        send(.request(id: 3, method: "echo.say", params: JSONObject([("text", "héllo")])))
        #expect(try receive() == .response(id: 3, result: .object(JSONObject([("said", "héllo")]))))
        #expect(try receive() == .notification(method: "echo.tick", params: JSONObject([("count", 1)])))

        send(.request(id: 4, method: "echo.shout", params: JSONObject()))
        guard case .failure(4, let unknown) = try receive() else { Issue.record("expected method not found"); return }
        #expect(unknown.kind == .methodNotFound)

        shutdown(host, Int32(SHUT_WR))  // the host hangs up: the plugin exits cleanly
        #expect(try plugin.wait(timeoutSeconds: 10) == 0)
    }
}

import ElaJSON
import ElaPluginProtocol
import ElaTestSupport
import Testing

/// What a broken or hostile plugin can write on its socket: a real exchange (handshake, calls, answers, errors,
/// events), mutated and cut into random pieces. The decoder yields payloads or a typed error (after which the host
/// drops the plugin); every payload decodes to a message or a typed error; a decoded message reads back the same.
@Suite(.ownThread) struct PluginStreamMutationTests {
    static let tokens = ["\"jsonrpc\":\"2.0\"", "\"id\":", "\"method\":", "\"params\":", "\"result\":", "\"error\":", "9223372036854775808", "-1", "1.5", "null", "{}", "[]", "\""]

    @Test func mutatedStreamsDecodeOrFailWithAnError() throws {
        let hello = PluginHandshake.Hello(host: "ela-agent 1.0", config: ["pin": "LED0"])
        let welcome = PluginHandshake.Welcome(version: 1, name: "gpio", pluginVersion: "1.0.0", methods: ["gpio.read", "gpio.write"], events: ["gpio.edge"])
        let messages: [PluginMessage] = [
            .request(id: 1, method: PluginHandshake.method, params: hello.params), .response(id: 1, result: welcome.result),
            .request(id: 2, method: "gpio.read", params: ["pin": "LED0"]), .response(id: 2, result: .object(["value": 1])),
            .failure(id: 3, PluginProtocolError(.pluginError, "line LED0 is held by another request")), .failure(id: nil, PluginProtocolError(.parseError, "x")),
            .notification(method: "gpio.edge", params: ["pin": "BTN0", "edge": "rising", "atNs": 123_456_789]),
        ]
        let frames = messages.map { $0.encoded() }
        let stream = frames.flatMap { $0 }
        var mutator = ByteMutator(seed: 9, tokens: Self.tokens)
        var decoded = 0, rejected = 0, dropped = 0
        for _ in 0..<ByteMutator.rounds(default: 2000) {
            var decoder = PluginFrameDecoder(maxFrame: 64 << 10)
            reading: for chunk in mutator.chunks(mutator.mutate(stream, splicing: frames)) {
                decoder.append(chunk)
                while true {
                    let payload: [UInt8]
                    do {
                        guard let p = try decoder.next() else { break }
                        payload = p
                    } catch {
                        #expect(error.kind == .frameTooLarge)
                        dropped += 1
                        break reading
                    }
                    do {
                        let message = try PluginMessage(payload: payload)
                        decoded += 1
                        let again = try PluginMessage(payload: Array(message.encoded().dropFirst(4)))
                        #expect(again == message)
                        if case .request(_, PluginHandshake.method, let params) = message { _ = try? PluginHandshake.Hello(params: params) }
                        if case .response(_, let result) = message { _ = try? PluginHandshake.Welcome(result: result, offered: [1]) }
                    } catch {
                        rejected += 1
                    }
                }
            }
        }
        #expect(decoded > 1000 && rejected > 100 && dropped > 100)
    }
}

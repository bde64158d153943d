import ElaControl
import ElaControlServer
import ElaJSON
import Testing

@Suite struct ControlHandlerTests {
    let handler = ControlHandler(methods: [
        "echo": { params in .object(params) },
        "fail": { _ throws(ControlError) in throw ControlError(code: -32010, message: "refused") },
    ])

    func reply(_ text: String) async throws -> ControlResponse {
        let bytes = await handler.respond(to: Array(text.utf8))
        return try ControlResponse(frame: Array(bytes.dropLast()))
    }

    @Test func dispatchesToTheMethod() async throws {
        let r = try await reply(#"{"jsonrpc":"2.0","id":3,"method":"echo","params":{"a":1}}"#)
        #expect(r.id == 3)
        #expect(try r.outcome.get() == .object(JSONObject([("a", 1)])))
    }

    @Test func unknownMethodListsTheKnownOnes() async throws {
        let r = try await reply(#"{"jsonrpc":"2.0","id":4,"method":"reboot"}"#)
        guard case .failure(let e) = r.outcome else { Issue.record("expected an error"); return }
        #expect(e.code == ControlError.methodNotFound)
        #expect(e.message.contains("echo, fail"))
    }

    @Test func methodErrorsAndGarbageBecomeErrorReplies() async throws {
        let r = try await reply(#"{"jsonrpc":"2.0","id":5,"method":"fail"}"#)
        #expect(r.outcome == .failure(ControlError(code: -32010, message: "refused")))
        let g = try await reply("\u{00}\u{FF}garbage")
        #expect(g.id == nil)
        guard case .failure(let e) = g.outcome else { Issue.record("expected an error"); return }
        #expect(e.code == ControlError.parseError)
    }
}

import ElaControl
import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct ControlMessageTests {
    @Test func requestRoundTrip() throws {
        let r = ControlRequest(id: 7, method: "status", params: JSONObject([("verbose", true)]))
        let bytes = r.encoded()
        #expect(bytes.last == 0x0A)
        #expect(!bytes.dropLast().contains(0x0A))
        #expect(try ControlRequest(frame: Array(bytes.dropLast())) == r)
    }

    @Test func responseRoundTrip() throws {
        let ok = ControlResponse(id: 1, outcome: .success(.object(JSONObject([("did", "did:elastos:x")]))))
        #expect(try ControlResponse(frame: Array(ok.encoded().dropLast())) == ok)
        let err = ControlResponse(id: 2, outcome: .failure(ControlError(code: ControlError.methodNotFound, message: "no\nsuch")))
        let encoded = err.encoded()
        #expect(encoded.filter { $0 == 0x0A }.count == 1)  // newlines inside strings are escaped
        #expect(try ControlResponse(frame: Array(encoded.dropLast())) == err)
    }

    @Test(arguments: [
        ("not json", ControlError.parseError),
        ("[]", ControlError.invalidRequest),
        (#"{"id":1,"method":"status"}"#, ControlError.invalidRequest),
        (#"{"jsonrpc":"2.0","method":"status"}"#, ControlError.invalidRequest),
        (#"{"jsonrpc":"2.0","id":"x","method":"status"}"#, ControlError.invalidRequest),
        (#"{"jsonrpc":"2.0","id":1,"method":""}"#, ControlError.invalidRequest),
        (#"{"jsonrpc":"2.0","id":1,"method":"status","params":[1]}"#, ControlError.invalidParams),
    ])
    func malformedRequestsGetTypedErrors(_ text: String, _ code: Int) {
        do {
            _ = try ControlRequest(frame: Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.code == code)
        }
    }

    @Test func socketPathPrecedence() {
        #expect(ControlClient.defaultSocketPath(explicit: "/x.sock") == "/x.sock")
    }
}

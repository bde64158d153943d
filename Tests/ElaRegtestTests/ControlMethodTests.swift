import ElaControl
import ElaControlServer
import ElaJSON
import ElaRegtest
import ElaTestSupport
import Testing

/// The control methods through the real socket, and malformed requests through the real handler.
@Suite(.ownThread, .serialized) struct ControlMethodTests {
    @Test func minesSubmitsAndReports() async throws {
        let running = try await InProcessNode.start()
        do {
            let mined = try await running.call("mine", JSONObject([("count", 3)]))
            #expect(mined["height"] == 3)
            #expect(mined["hashes"]?.arrayValue?.count == 3)

            let submitted = try await running.call("submit", JSONObject([("request", try user4CreateRequest())]))
            let txid = try #require(submitted["txid"]?.stringValue)
            #expect(txid.count == 64)
            #expect(try await running.call("transaction", JSONObject([("txid", .string(txid))]))["status"] == "pending")
            // The request object itself as params works too, and resubmitting a pending request is idempotent.
            guard case .object(let request) = try user4CreateRequest() else { throw TimedOut(seconds: 0) }
            #expect(try await running.call("submit", request)["txid"]?.stringValue == txid)
            #expect(try await running.call("status")["mempool"] == 1)

            _ = try await running.call("mine")
            let found = try await running.call("transaction", JSONObject([("txid", .string(txid))]))
            #expect(found["status"] == "confirmed")
            #expect(found["height"] == 4)
            #expect(found["confirmations"] == 1)
            let block = try await running.call("block", JSONObject([("height", 4)]))
            #expect(block["txids"]?.arrayValue?.last == .string(txid))
            #expect(block["main"] == true)

            let status = try await running.call("status")
            #expect(status["height"] == 4)
            #expect(status["network"] == "ela-regnet")
            #expect(status["mempool"] == 0)
            #expect(status["p2pPort"] == .number(JSONNumber(running.port)))
            #expect(status["genesis"] == "6418be20291bc857c9a01e5ba205445b85a0593d47cc0b576d55a55e464f31b3")
        }
        try await running.stop()
    }

    @Test func malformedRequestsGetErrors() async throws {
        let running = try await InProcessNode.start()
        do {
            func failure(_ method: String, _ params: JSONObject) async -> ControlError? {
                do {
                    _ = try await running.call(method, params)
                    return nil
                } catch let e as ControlError { return e } catch {
                    Issue.record("unexpected error \(error)")
                    return nil
                }
            }
            let badCount = await failure("mine", JSONObject([("count", "three")]))
            #expect(badCount?.code == ControlError.invalidParams)
            #expect(badCount?.message.contains("count") == true)
            #expect(await failure("mine", JSONObject([("count", 0)]))?.code == ControlError.invalidParams)
            #expect(await failure("mine", JSONObject([("count", 1_000_000)]))?.code == ControlError.invalidParams)
            let notRequest = await failure("submit", JSONObject([("request", .object(JSONObject([("id", "x")])))]))
            #expect(notRequest?.code == ControlError.invalidParams)
            #expect(notRequest?.message.contains("ID-chain request") == true)
            #expect(await failure("submit", JSONObject())?.code == ControlError.invalidParams)
            let noHeight = await failure("fork", JSONObject([("count", 2)]))
            #expect(noHeight?.message.contains("fromHeight") == true)
            let tooHigh = await failure("fork", JSONObject([("fromHeight", 99), ("count", 1)]))
            #expect(tooHigh?.message.contains("no main-chain block at height 99") == true)
            #expect(await failure("block", JSONObject([("hash", "zz")]))?.code == ControlError.invalidParams)
            #expect(await failure("nonsense", JSONObject())?.code == ControlError.methodNotFound)

            // Bytes that are not a JSON-RPC request at all.
            let handler = RegtestControl.handler(node: running.node)
            for frame in ["not json", "[1,2]", #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":1,"method":"mine","params":[3]}"#] {
                let reply = try ControlResponse(frame: Array(await handler.respond(to: Array(frame.utf8)).dropLast()))
                guard case .failure(let e) = reply.outcome else {
                    Issue.record("'\(frame)' was accepted")
                    continue
                }
                #expect(e.code < 0, "\(frame): \(e)")
            }
            #expect(try await running.call("status")["height"] == 0)
        }
        try await running.stop()
    }
}

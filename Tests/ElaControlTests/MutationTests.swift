import ElaControl
import ElaJSON
import ElaTestSupport
import Testing

/// Control frames as any local process (or a broken agent) can send them, mutated: each decodes or fails with a
/// `ControlError` ready to send back, never traps; a decoded request or reply reads back the same.
@Suite(.ownThread) struct ControlFrameMutationTests {
    @Test func mutatedFramesDecodeOrFailWithAnError() throws {
        let requests = [
            ControlRequest(id: 1, method: "call", params: ["method": "gpio.write", "params": .object(["pin": "LED0", "value": 1])]),
            ControlRequest(id: 2, method: "grant.add", params: ["subject": "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y", "capability": "gpio.*"]),
            ControlRequest(id: 3, method: "status"),
        ]
        let replies = [
            ControlResponse(id: 1, outcome: .success(.object(["value": 1]))), ControlResponse(id: nil, outcome: .failure(ControlError(code: -32010, message: "denied"))),
        ]
        // Without the newline: the server splits frames at it.
        let seeds = requests.map { Array($0.encoded().dropLast()) } + replies.map { Array($0.encoded().dropLast()) }
        var mutator = ByteMutator(seed: 10, tokens: ["\"jsonrpc\":\"2.0\"", "\"id\":", "\"params\":", "9223372036854775808", "-0", "null", "[]", "\""])
        var requestsDecoded = 0, repliesDecoded = 0, rejected = 0
        for round in 0..<ByteMutator.rounds(default: 4000) {
            let frame = mutator.mutate(seeds[round % seeds.count], splicing: seeds)
            do {
                let request = try ControlRequest(frame: frame)
                requestsDecoded += 1
                #expect(try ControlRequest(frame: Array(request.encoded().dropLast())) == request)
            } catch {
                rejected += 1
                #expect(!error.message.isEmpty && error.code < 0)
            }
            if let reply = try? ControlResponse(frame: frame) {
                repliesDecoded += 1
                #expect(try ControlResponse(frame: Array(reply.encoded().dropLast())) == reply)
            }
        }
        #expect(requestsDecoded > 30 && repliesDecoded > 30 && rejected > 100, "\(requestsDecoded) requests, \(repliesDecoded) replies, \(rejected) rejected")
    }
}

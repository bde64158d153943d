import ElaJSON
import ElaMQTTBridge
import ElaTestSupport
import Testing

/// Commands from the broker, which anyone with publish rights on the topic can send: each is decoded or refused
/// with a typed error (carrying the reply id when it was readable, so the sender hears why), never traps.
@Suite(.ownThread) struct CommandEnvelopeTests {
    static let request = #"{"method":"gpio.write","params":{"pin":"LED0","value":1},"did":"did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y","timestamp":1800000000,"nonce":"0123456789abcdef0123456789abcdef","signature":"x"}"#

    static func payload(id: String = "r-1", request: String = request) -> [UInt8] {
        JSONWriter.compactBytes(.object(["id": .string(id), "request": .string(request)]))
    }

    @Test func aWellFormedCommandDecodes() throws {
        let command = try CommandEnvelope(payload: Self.payload(), topicMethod: "gpio.write", maxBytes: 64 << 10)
        #expect(command.id == "r-1" && command.method == "gpio.write" && command.request == Self.request)
    }

    @Test func eachRefusalIsTypedAndKeepsTheReplyIDWhenReadable() {
        func refusal(_ bytes: [UInt8], topic: String = "gpio.write", max: Int = 64 << 10) -> CommandError? {
            do {
                _ = try CommandEnvelope(payload: bytes, topicMethod: topic, maxBytes: max)
                return nil
            } catch { return error }
        }
        #expect(refusal(Self.payload(), max: 10)?.kind == .oversize)
        #expect(refusal([0x7B, 0xFF, 0x7D])?.kind == .notUTF8)
        #expect(refusal(Array("{".utf8))?.kind == .notJSON)
        #expect(refusal(Array("[]".utf8))?.kind == .malformed)
        #expect(refusal(Self.payload(id: "has/slash"))?.kind == .malformed)
        #expect(refusal(Self.payload(id: String(repeating: "a", count: 65)))?.kind == .malformed)
        let noMethod = refusal(Self.payload(request: "{}"))
        #expect(noMethod?.kind == .malformed && noMethod?.replyID == "r-1")
        let mismatch = refusal(Self.payload(), topic: "gpio.read")
        #expect(mismatch?.kind == .methodMismatch && mismatch?.replyID == "r-1")
    }

    @Test func mutatedCommandsDecodeOrFailWithAnError() {
        let seeds = [Self.payload(), Self.payload(id: "a.b:c_d-9"), Array(Self.request.utf8)]
        var mutator = ByteMutator(seed: 12, tokens: ["\"id\":", "\"request\":", "\\\"", "\\u0000", "/", "+", "#", "\"method\":\"gpio.read\""])
        var accepted = 0, refused = 0
        for round in 0..<ByteMutator.rounds(default: 4000) {
            let bytes = mutator.mutate(seeds[round % seeds.count], splicing: seeds)
            do {
                let command = try CommandEnvelope(payload: bytes, topicMethod: "gpio.write", maxBytes: 4096)
                accepted += 1
                // Its id names a reply topic: never a wildcard or a level separator.
                #expect(!command.id.contains { "/+#".contains($0) } && command.method == "gpio.write")
            } catch {
                refused += 1
                #expect(!error.message.isEmpty)
                if let id = error.replyID { #expect(!id.contains { "/+#".contains($0) }) }
            }
        }
        #expect(accepted > 30 && refused > 100, "\(accepted) accepted, \(refused) refused")
    }
}

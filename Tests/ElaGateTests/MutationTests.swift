import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

/// Signed requests as a remote caller can mangle them, through the real gate and its SQLite store: each is denied
/// with a reason and audited, or allowed; an allowed one signs exactly what an original signed, and the audit chain
/// holds every decision.
@Suite(.ownThread) struct SignedRequestMutationTests {
    static let tokens = [
        "\"", "\\u0000", "did:elastos:", "\"method\":\"gpio.write\"", "\"params\":{}", "\"nonce\":\"", "\"timestamp\":", "9223372036854775807",
        "-9223372036854775808", "1e999", "\"credential\":{", "\"signature\":\"", "null", "[]", "{}", "*",
    ]

    @Test func mutatedRequestsAreDeniedUnlessTheirSignedContentIsIntact() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.*")
        // Originals are never sent themselves: their nonces stay fresh, so only the mutation decides.
        var originals: [SignedRequest] = []
        for i in 0..<16 {
            originals.append(try caller.request(i % 2 == 0 ? "gpio.write" : "gpio.read", params: ["pin": .string("LED\(i % 3)"), "value": .number(JSONNumber(i % 2))]))
        }
        let texts = originals.map { Array($0.text.utf8) }
        // Splicing may rebuild another original whole: any original's signed content may pass, nothing else.
        let signedContent = Set(originals.map(\.signedBytes))
        var mutator = ByteMutator(seed: 6, tokens: Self.tokens)
        var allowed = 0, denied = 0
        let rounds = ByteMutator.rounds(default: 1500)
        for round in 0..<rounds {
            let input = String(decoding: mutator.mutate(texts[round % texts.count], splicing: texts), as: UTF8.self)
            let (decision, request) = f.gate.authorize(signedText: input, nowMillis: testNow * 1000)
            #expect(decision.auditSeq != nil, "input \(round) was not audited")
            guard decision.allowed else {
                denied += 1
                #expect(!decision.reason.isEmpty)
                continue
            }
            allowed += 1
            #expect(request.map { signedContent.contains($0.signedBytes) } == true, "input \(round): a changed request was allowed")
        }
        #expect(denied > 100)
        let report = f.gate.verifyAudit()
        #expect(report.isOK && report.rowCount >= Int64(rounds), "\(report.summary)")
        _ = allowed
    }
}

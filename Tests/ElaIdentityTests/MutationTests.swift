import ElaIdentity
import ElaJSON
import ElaTestSupport
import Testing

/// The official SDKs' documents, credentials, presentations and DID requests, mutated: each decodes to an object or
/// fails with a `DIDError`, and verifying it never traps. A mutated document, credential, presentation or request
/// that still verifies as genuine must sign the same content as an original (only a change outside the signed part, or a spelling the canonical form
/// removes, such as white space or member order, may keep a signature valid).
@Suite(.ownThread) struct DIDMutationTests {
    static let tokens = [
        "did:elastos:", "#primary", "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y", "\"", "\\u0000", "2099-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "[]", "{}", "null", "ECDSAsecp256r1", "\"controller\":[", "\"multisig\":\"2:3\"",
        "\"multisig\":\"0:0\"", "\"multisig\":\"9999999999:1\"", "\"proof\":[", "99999999999999999999", "-1",
    ]

    @Test func mutatedObjectsDecodeOrFailAndNeverVerifyChangedContent() throws {
        let seeds = TestData.elastosJSONSeeds
        #expect(seeds.count > 5, "the shared SDK vectors are missing (\(TestData.root))")
        var documents: [DIDDocument] = []
        var signedContent = Set<[UInt8]>()
        for seed in seeds {
            switch try DIDObject(json: JSONParser.parse(bytes: seed)) {
            case .document(let d):
                documents.append(d)
                signedContent.insert(d.signingInput)
                for vc in d.credentials { signedContent.insert(vc.signingInput) }
            case .credential(let vc): signedContent.insert(vc.signingInput)
            case .presentation(let vp):
                for vc in vp.credentials { signedContent.insert(vc.signingInput) }
                if let proof = vp.proof { signedContent.insert(vp.signingInput(realm: proof.realm, nonce: proof.nonce)) }
            case .request(let request): signedContent.insert(request.signingInput)
            case .ticket: break
            }
        }
        let verifier = DIDVerifier(resolver: DIDDocumentSet(documents))
        var mutator = ByteMutator(seed: 2, tokens: Self.tokens)
        var decoded = 0, rejected = 0, genuine = 0
        for round in 0..<ByteMutator.rounds(default: 3000) {
            let input = mutator.mutate(seeds[round % seeds.count], splicing: seeds)
            guard let json = try? JSONParser.parse(bytes: input) else { continue }
            let object: DIDObject
            do { object = try DIDObject(json: json) } catch {
                rejected += 1
                #expect(!error.message.isEmpty)
                continue
            }
            decoded += 1
            _ = try? verifier.checkValid(object, at: DIDDate(secondsSince1970: 1_800_000_000))
            guard (try? verifier.checkGenuine(object)) != nil else { continue }
            genuine += 1
            switch object {
            case .document(let d):
                #expect(signedContent.contains(d.signingInput), "input \(round): a changed document verified")
                _ = JSONWriter.compact(d.normalizedJSON())
            case .credential(let vc):
                #expect(signedContent.contains(vc.signingInput), "input \(round): a changed credential verified")
            case .presentation(let vp):
                let input = vp.proof.map { vp.signingInput(realm: $0.realm, nonce: $0.nonce) } ?? []
                #expect(signedContent.contains(input), "input \(round): a changed presentation verified")
            case .request(let request):
                #expect(signedContent.contains(request.signingInput), "input \(round): a changed ID-chain request verified")
            case .ticket: break
            }
        }
        #expect(decoded > 50 && rejected > 50 && genuine > 0)
    }
}

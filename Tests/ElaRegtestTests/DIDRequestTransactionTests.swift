import ElaChain
import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaRegtest
import ElaTestSupport
import Testing

@Suite(.ownThread) struct DIDRequestTransactionTests {
    @Test func aCreateRequestBecomesARegisterDIDTransactionOnItsSubjectsProgram() throws {
        let json = try user4CreateRequest()
        let subject = try IDChainRequest(json: json).subjectDID()
        let tx = try DIDRequestTransaction.make(request: json, nonce: 5)
        #expect(tx.kind == .registerDID)
        #expect(tx.payload == JSONWriter.compactBytes(json))
        #expect(tx.programHash.count == 21 && tx.programHash[0] == 0x67)
        #expect(Base58.encodeCheck(tx.programHash) == subject.methodSpecificId)
        #expect(try ChainTransaction(bytes: tx.serialized) == tx)
    }

    @Test func malformedRequestsAreRefusedWithAReason() throws {
        let notRequest = try JSONParser.parse(#"{"hello": "world"}"#)
        let e1 = try #require(throws: RegtestError.self) { try DIDRequestTransaction.make(request: notRequest, nonce: 0) }
        #expect(e1.kind == .invalidRequest)
        #expect(e1.description.contains("ID-chain request"))

        let badPayload = try JSONParser.parse(
            #"{"header": {"specification": "elastos/did/1.0", "operation": "create"}, "payload": "%%%"}"#)
        let e2 = try #require(throws: RegtestError.self) { try DIDRequestTransaction.make(request: badPayload, nonce: 0) }
        #expect(e2.description.contains("subject DID"))

        let customized = try JSONParser.parse(
            #"{"header": {"specification": "elastos/did/1.0", "operation": "deactivate"}, "payload": "did:elastos:foobar"}"#)
        let e3 = try #require(throws: RegtestError.self) { try DIDRequestTransaction.make(request: customized, nonce: 0) }
        #expect(e3.description.contains("foobar"))

        #expect(throws: RegtestError.self) { try DIDRequestTransaction.make(request: .array([]), nonce: 0) }
    }
}

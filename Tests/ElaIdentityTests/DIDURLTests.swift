import ElaIdentity
import Testing

@Suite struct DIDURLTests {
    let base = try! DID("did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y")

    @Test func parsesAbsoluteAndRelativeForms() throws {
        let absolute = try DIDURL("did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y#primary", base: nil)
        #expect(absolute.did == base && absolute.suffix == "#primary" && absolute.fragment == "primary")
        #expect(absolute.description == "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y#primary")
        #expect(absolute.did.description == "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y")
        // Relative, v1's bare fragment, surrounding white space, path and query forms.
        for text in ["#primary", "primary", "  #primary\n", "\t primary \r"] {
            #expect(try DIDURL(text, base: base) == absolute, "\(text)")
        }
        let withPath = try DIDURL("did:elastos:foo/path?q=1#f", base: nil)
        #expect(withPath.did.methodSpecificId == "foo" && withPath.suffix == "/path?q=1#f" && withPath.fragment == "f")
        #expect(try DIDURL(";service=x", base: base).description == base.description + ";service=x")
        #expect(absolute.relative(to: base) == "#primary")
    }

    @Test func rejectsMalformedURLs() throws {
        for (text, base) in [
            ("#primary", nil), ("", self.base), ("did:elastos:bad id#x", nil), ("did:elastos:#x", nil), ("did:other:abc#x", nil),
            ("#a b", self.base), ("#a\u{7F}", self.base),
        ] as [(String, DID?)] {
            #expect(throws: DIDError.self, "\(text)") { try DIDURL(text, base: base) }
        }
        #expect(throws: DIDError.self) { try DID("did:elastos:") }
        #expect(throws: DIDError.self) { try DID("did:elastos:a+b") }
        #expect(throws: DIDError.self) { try DID(methodSpecificId: "a/b") }
        #expect(try DID(methodSpecificId: "a.b_c-9").description == "did:elastos:a.b_c-9")
    }
}

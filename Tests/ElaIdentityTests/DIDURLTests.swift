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

@Suite struct DIDDateTests {
    @Test func writesISO8601AndReadsItBack() throws {
        let cases: [(Int64, String)] = [
            (0, "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (1_767_225_599, "2025-12-31T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"), (DIDDate.writableSeconds.lowerBound, "0001-01-01T00:00:00Z"),
            (DIDDate.writableSeconds.upperBound, "9999-12-31T23:59:59Z"),
        ]
        for (seconds, text) in cases {
            #expect(DIDDate(secondsSince1970: seconds).description == text)
            #expect(try DIDDate(text).secondsSince1970 == seconds)
        }
        // Outside the writable range: the nearest end.
        #expect(DIDDate(secondsSince1970: .max).description == "9999-12-31T23:59:59Z")
        #expect(DIDDate(secondsSince1970: .min).description == "0001-01-01T00:00:00Z")
        // Every day of a leap-year span round-trips.
        for day in stride(from: Int64(10_957), to: 12_500, by: 1) {
            let d = DIDDate(secondsSince1970: day * 86_400 + 45_296)
            #expect(try DIDDate(d.description) == d)
        }
    }
}

import ElaTestSupport
import Testing

/// `elactl did ...` run as a real process: output and exit codes as documented.
@Suite(.ownThread) struct ElactlDIDCommandTests {
    let elactl = ChildProcess.product("elactl")
    let v22 = TestData.path("elastos-did/java-sdk/v2.2/testdata")

    @Test func deriveprintsTheDID() throws {
        let r = try ChildProcess.run(elactl, ["did", "derive", "vMYSz32qbWsNeDJpKsuuMaFsiApuZMz9XVy9DmEwysWg"])
        #expect(r.status == 0)
        #expect(r.stdout == "did:elastos:iXcRhYB38gMt1phi5JXJMjeXL2TL8cg58y\n")
        let bad = try ChildProcess.run(elactl, ["did", "derive", "0OIl"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("not a P-256 public key"))
    }

    @Test func normalizePrintsTheSDKBytes() throws {
        let r = try ChildProcess.run(elactl, ["did", "normalize", v22 + "/user1.id.json"])
        #expect(r.status == 0)
        let expected = try #require(TestData.readString(v22 + "/user1.id.normalized.json"))
        #expect(r.stdout == expected + "\n")
    }

    @Test(arguments: [
        "user1.id.json", "user1.id.compact.json", "foobar.id.json", "foo.id.normalized.json", "user1.vc.json.json",
        "user1.vc.passport.json", "user1.vp.empty.json", "user1.vp.nonempty.json",
    ])
    func verifyAcceptsGenuineVectors(_ file: String) throws {
        let r = try ChildProcess.run(elactl, ["did", "verify", v22 + "/" + file, "--resolve-dir", v22])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("GENUINE: "))
    }

    @Test func verifyRequestAndValidity() throws {
        let req = TestData.path("elastos-did/derived/user4.didrequest.deactivate.json")
        let ok = try ChildProcess.run(elactl, ["did", "verify", req, "--resolve-dir", v22])
        #expect(ok.status == 0, "\(ok.stdout)")
        let valid = try ChildProcess.run(
            elactl, ["did", "verify", v22 + "/user1.vc.twitter.json", "--resolve-dir", v22, "--at", "2022-01-01T00:00:00Z"])
        #expect(valid.status == 0)
        #expect(valid.stdout.hasPrefix("VALID: "))
        let expired = try ChildProcess.run(
            elactl, ["did", "verify", v22 + "/user1.vc.twitter.json", "--resolve-dir", v22, "--at", "2026-11-24T00:00:00Z"])
        #expect(expired.status == 1)
        #expect(expired.stdout.contains("expired at 2026-11-20T09:55:44Z"))
        let json = try ChildProcess.run(elactl, ["did", "verify", v22 + "/user1.vc.twitter.json", "--resolve-dir", v22, "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"genuine\": true"))
    }

    @Test func verifyExplainsAFailure() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let original = try #require(TestData.readString(v22 + "/user1.vc.passport.json"))
        let tampered = dir.write("vc.json", original.replacingFirst("S653258Z07", with: "S653258Z08"))
        let r = try ChildProcess.run(elactl, ["did", "verify", tampered, "--resolve-dir", v22])
        #expect(r.status == 1)
        #expect(r.stdout.contains("NOT GENUINE"))
        #expect(r.stdout.contains("signature does not verify"))
        #expect(r.stdout.contains("#primary"))
        // Without the issuer's document the verifier says what it needs.
        let unresolved = try ChildProcess.run(elactl, ["did", "verify", v22 + "/user1.vc.twitter.json"])
        #expect(unresolved.status == 1)
        #expect(unresolved.stdout.contains("cannot resolve did:elastos:imUUPBfrZ1yZx6nWXe6LNN59VeX2E6PPKj"))
        // Not called a forgery: nothing says it is one.
        #expect(unresolved.stdout.hasPrefix("CANNOT VERIFY: ") && unresolved.stdout.contains("--resolve-dir"), "\(unresolved.stdout)")
    }

    @Test func unreadableOrUnparseableInputExitsTwo() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let missing = try ChildProcess.run(elactl, ["did", "verify", dir.path + "/missing.json"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("No such file"))
        let garbage = try ChildProcess.run(elactl, ["did", "verify", dir.write("g.json", "{\"id\": ")])
        #expect(garbage.status == 2)
        #expect(garbage.stderr.contains("invalid JSON"))
        let unknown = try ChildProcess.run(elactl, ["did", "verify", dir.write("u.json", "{\"hello\": 1}")])
        #expect(unknown.status == 2)
        let badDate = try ChildProcess.run(elactl, ["did", "verify", v22 + "/user4.id.json", "--at", "yesterday"])
        #expect(badDate.status != 0 && badDate.status != 1)
    }

    @Test func restoreDerivesTheSDKDIDs() throws {
        let words = try #require(TestData.readString(TestData.path("elastos-did/native-sdk/testdata/mnemonic.restore")))
        let dids = try #require(TestData.readString(TestData.path("elastos-did/native-sdk/testdata/dids.restore")))
            .split(separator: "\n").map(String.init)
        for (i, did) in dids.enumerated() {
            let r = try ChildProcess.run(elactl, ["did", "restore", "--mnemonic", words, "--passphrase", "secret", "--index", "\(i)"])
            #expect(r.status == 0)
            #expect(r.stdout == did + "\n")
        }
        let bad = try ChildProcess.run(elactl, ["did", "restore", "--mnemonic", "abandon abandon", "--index", "0"])
        #expect(bad.status != 0)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        var s = self
        if let r = s.firstRange(of: target) { s.replaceSubrange(r, with: replacement) }
        return s
    }
}

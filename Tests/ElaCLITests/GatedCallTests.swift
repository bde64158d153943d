#if canImport(Glibc)
import Glibc
#endif
import ElaControl
import ElaDeviceIdentity
import ElaGate
import ElaIdentity
import ElaJSON
import ElaSQLite
import ElaTestSupport
import Testing

/// The gate end to end: a real agent with a real (sandboxed) plugin, `elactl` as admin and as signed callers,
/// grants, an owner credential, replay and tampering, and the audit chain on disk.
@Suite(.ownThread, .serialized) struct GatedCallTests {
    let elactl = ChildProcess.product("elactl")
    static let fixtures: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/ElaPluginHostTests/Fixtures"
    }()

    struct Agent {
        let process: ChildProcess
        let socket: String
        let dir: TemporaryDirectory
    }

    func startAgent(_ dir: TemporaryDirectory, config extra: String = "") throws -> Agent {
        let config = dir.write("agent.toml", "[plugins]\nenable = [\"hostile\"]\n" + extra)
        let socket = dir.path + "/run/control.sock"
        let p = try ChildProcess(
            ChildProcess.product("ela-agent"),
            ["--config", config, "--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            environment: ["ELA_PLUGINS_DIR": Self.fixtures], outputDirectory: dir.path)
        try #require(ChildProcess.waitUntil(timeoutSeconds: 30) { p.stdout.contains("ela-agent ready") }, "\(p.stderr)")
        // Wait for the plugin to be up.
        let up = ChildProcess.waitUntil(timeoutSeconds: 20) {
            (try? ChildProcess.run(elactl, ["plugin", "list", "--socket", socket]).stdout.contains("hostile 1.0.0: running")) == true
        }
        try #require(up, "plugin did not start: \(p.stderr)")
        return Agent(process: p, socket: socket, dir: dir)
    }

    func ctl(_ agent: Agent, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(elactl, args + ["--socket", agent.socket])
    }

    func identity(_ dir: TemporaryDirectory, _ name: String) throws -> IdentityDirectory {
        let r = try ChildProcess.run(elactl, ["identity", "create", "--dir", dir.path + "/" + name])
        #expect(r.status == 0, "\(r.stderr)")
        return try IdentityDirectory.load(dir.path + "/" + name)
    }

    @Test func grantsDecideSignedCallsAndEveryDecisionIsAudited() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let alice = try identity(dir, "alice")
        let aliceDir = dir.path + "/alice"

        // Local admin: allowed, audited under the uid.
        let admin = try ctl(agent, ["call", "hostile.echo", #"{"x":1}"#])
        #expect(admin.status == 0 && admin.stdout.contains(#"{"x":1}"#), "\(admin.stderr)")

        // Signed, no grant: denied.
        let denied = try ctl(agent, ["call", "hostile.echo", #"{"pin":"LED0"}"#, "--as", aliceDir])
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("no grant for hostile.echo"))

        // A constrained grant: allowed for LED0, denied for LED1 and without the param.
        let grant = try ctl(agent, ["grant", "add", alice.did.description, "hostile.*", "--constraint", "pin=LED0"])
        #expect(grant.status == 0, "\(grant.stderr)")
        let ok = try ctl(agent, ["call", "hostile.echo", #"{"pin":"LED0"}"#, "--as", aliceDir])
        #expect(ok.status == 0 && ok.stdout.contains("LED0"), "\(ok.stderr)")
        let wrong = try ctl(agent, ["call", "hostile.echo", #"{"pin":"LED1"}"#, "--as", aliceDir])
        #expect(wrong.status == 1 && wrong.stderr.contains("constraint pin"))
        let missing = try ctl(agent, ["call", "hostile.echo", "{}", "--as", aliceDir])
        #expect(missing.status == 1 && missing.stderr.contains("param missing"))

        // An expiring grant stops working.
        let bob = try identity(dir, "bob")
        let soon = Int64(time(nil)) + 2
        #expect(try ctl(agent, ["grant", "add", bob.did.description, "hostile.echo", "--expires", String(soon)]).status == 0)
        #expect(try ctl(agent, ["call", "hostile.echo", "{}", "--as", dir.path + "/bob"]).status == 0)
        sleep(3)
        let expired = try ctl(agent, ["call", "hostile.echo", "{}", "--as", dir.path + "/bob"])
        #expect(expired.status == 1 && expired.stderr.contains("expired"), "\(expired.stderr)")

        // Revoked: denied again.
        let list = try ctl(agent, ["grant", "list", "--subject", alice.did.description, "--json"])
        let id = try #require(try JSONParser.parse(list.stdout).arrayValue?.first?["id"]?.numberValue?.text)
        #expect(try ctl(agent, ["grant", "revoke", id]).status == 0)
        #expect(try ctl(agent, ["call", "hostile.echo", #"{"pin":"LED0"}"#, "--as", aliceDir]).status == 1)

        // Every decision is in the chain, which verifies.
        let audit = try ctl(agent, ["audit", "list", "--limit", "100"])
        #expect(audit.stdout.contains("allow uid:"))
        #expect(audit.stdout.contains("deny \(alice.did) hostile.echo"))
        #expect(audit.stdout.contains("grant.revoke"))
        let verify = try ctl(agent, ["audit", "verify"])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("OK"), "\(verify.stdout)")
        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait() == 0)
    }

    @Test func replayedTamperedAndForgedRequestsAreDenied() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let carol = try identity(dir, "carol")
        #expect(try ctl(agent, ["grant", "add", carol.did.description, "hostile.echo"]).status == 0)
        let client = ControlClient(socketPath: agent.socket)
        let signed = try SignedRequest.sign(
            method: "hostile.echo", params: ["n": 1], privateKey: carol.key, did: carol.did, now: Int64(time(nil)))
        let first = try client.call("call", params: ["request": .string(signed.text)])
        #expect(first.objectValue?["n"] == 1)

        func deniedReason(_ text: String) -> String? {
            do {
                _ = try client.call("call", params: ["request": .string(text)])
                return nil
            } catch let e as ControlError {
                return e.code == ControlError.denied ? e.message : "wrong code \(e.code): \(e.message)"
            } catch { return "\(error)" }
        }
        // The same request again.
        #expect(deniedReason(signed.text)?.contains("replayed") == true)
        // Params changed after signing.
        let tampered = signed.text.replacingFirst(#""n":1"#, with: #""n":2"#)
        #expect(deniedReason(tampered)?.contains("bad signature") == true)
        // Signed by someone else's key, claiming carol's DID.
        let mallory = try identity(dir, "mallory")
        var forged = try #require(try JSONParser.parse(
            try SignedRequest.sign(method: "hostile.echo", params: ["n": 3], privateKey: mallory.key, did: mallory.did, now: Int64(time(nil))).text
        ).objectValue)
        forged["did"] = .string(carol.did.description)
        #expect(deniedReason(JSONWriter.compact(.object(forged)))?.contains("is not the DID of publicKey") == true)
        // Stale.
        let old = try SignedRequest.sign(method: "hostile.echo", params: [:], privateKey: carol.key, did: carol.did, now: Int64(time(nil)) - 3600)
        #expect(deniedReason(old.text)?.contains("stale") == true)
        // Not even JSON.
        #expect(deniedReason("{not json")?.contains("malformed") == true)
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()
    }

    @Test func mistypedAdminParamsAreTypedErrorsAndTheAgentStaysUp() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let did = try identity(dir, "dave").did.description
        let client = ControlClient(socketPath: agent.socket)
        func refusal(_ method: String, _ params: JSONObject) -> ControlError? {
            do {
                _ = try client.call(method, params: params)
                return nil
            } catch let e as ControlError { return e } catch {
                Issue.record("\(error)")
                return nil
            }
        }
        let grant: JSONObject = ["subject": .string(did), "capability": "hostile.echo"]
        // A mistyped expiry is not "no expiry", a mistyped filter not "all".
        var stringExpiry = grant
        stringExpiry["expiresAt"] = "123"
        #expect(refusal("grant.add", stringExpiry)?.code == ControlError.invalidParams)
        #expect(refusal("grant.list", ["subject": 5])?.code == ControlError.invalidParams)
        #expect(refusal("audit.list", ["limit": "ten"])?.code == ControlError.invalidParams)
        #expect(refusal("events.subscribe", ["patterns": "hostile.*"])?.code == ControlError.invalidParams)
        // Expiries no date can hold, and milliseconds for seconds, are refused with the reason.
        var earliest = grant
        earliest["expiresAt"] = .number(JSONNumber(Int64.min))
        #expect(refusal("grant.add", earliest)?.message.contains("not in the future") == true)
        var millis = grant
        millis["expiresAt"] = .number(JSONNumber(Int64(time(nil)) * 1000))
        #expect(refusal("grant.add", millis)?.message.contains("milliseconds") == true)
        let list = try ctl(agent, ["grant", "list", "--all"])
        #expect(list.status == 0 && !list.stdout.contains(did), "\(list.stdout)")

        // A plugin that does not consume ela.call is refused, and the refusal is in the audit log.
        let asked = try ctl(agent, ["call", "hostile.ask_host", #"{"count":1,"method":"ela.call"}"#])
        #expect(asked.status == 0 && asked.stdout.contains(#""ok":0"#), "\(asked.stdout) \(asked.stderr)")
        let audit = try ctl(agent, ["audit", "list", "--subject", "plugin:hostile"])
        #expect(audit.stdout.contains("does not consume ela.call"), "\(audit.stdout)")
        #expect(try ctl(agent, ["audit", "verify"]).status == 0)
        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait() == 0)
    }

    @Test func anOwnerCredentialActsAsAGrant() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        let agent = try startAgent(dir)
        let owner = try identity(dir, "owner")
        let dave = try identity(dir, "dave")
        let set = try ctl(agent, ["owner", "set", dir.path + "/owner/document.json"])
        #expect(set.status == 0, "\(set.stderr)")
        let now = Int64(time(nil))
        let vc = try DeviceAccessCredential.issue(
            to: dave.did, capabilities: [try CapabilityPattern("hostile.echo")], owner: owner.document, key: owner.key,
            issuanceDate: DIDDate(secondsSince1970: now - 60), expirationDate: DIDDate(secondsSince1970: now + 86400))
        let vcFile = dir.write("dave-vc.json", JSONWriter.compact(vc.normalizedJSON()))
        let allowed = try ctl(agent, ["call", "hostile.echo", #"{"v":1}"#, "--as", dir.path + "/dave", "--credential", vcFile])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        // The credential covers echo only.
        let other = try ctl(agent, ["call", "hostile.probe", #"{"what":"identity"}"#, "--as", dir.path + "/dave", "--credential", vcFile])
        #expect(other.status == 1)
        // A credential issued by someone who is not the owner.
        let fake = try DeviceAccessCredential.issue(
            to: dave.did, capabilities: [try CapabilityPattern("hostile.*")], owner: dave.document, key: dave.key,
            issuanceDate: DIDDate(secondsSince1970: now - 60), expirationDate: DIDDate(secondsSince1970: now + 86400))
        let fakeFile = dir.write("fake-vc.json", JSONWriter.compact(fake.normalizedJSON()))
        let refused = try ctl(agent, ["call", "hostile.echo", "{}", "--as", dir.path + "/dave", "--credential", fakeFile])
        #expect(refused.status == 1 && refused.stderr.contains("denied"), "\(refused.stderr)")

        // The owner pairs a DApp from the command line: the issued credential works for what it names only.
        let issued = try ChildProcess.run(
            elactl, ["identity", "issue-access", "--dir", dir.path + "/owner", "--to", dave.did.description,
                     "--capability", "hostile.echo", "--constraint", "v=1,2", "--days", "1"])
        #expect(issued.status == 0, "\(issued.stderr)")
        #expect(issued.stdout.contains("DeviceAccessCredential"))
        let cliFile = dir.write("cli-vc.json", issued.stdout)
        let viaCLI = try ctl(agent, ["call", "hostile.echo", #"{"v":"2"}"#, "--as", dir.path + "/dave", "--credential", cliFile])
        #expect(viaCLI.status == 0, "\(viaCLI.stderr)")
        let outside = try ctl(agent, ["call", "hostile.echo", #"{"v":"3"}"#, "--as", dir.path + "/dave", "--credential", cliFile])
        #expect(outside.status == 1, "\(outside.stdout)")
        // Revoked on the device (the phone holding it was lost): denied; taken back: it counts again.
        #expect(issued.stderr.contains("elactl credential revoke"), "\(issued.stderr)")
        let revoke = try ctl(agent, ["credential", "revoke", cliFile, "--note", "phone lost"])
        #expect(revoke.status == 0 && revoke.stdout.contains("revoked: did:elastos:"), "\(revoke.stdout) \(revoke.stderr)")
        #expect(try ctl(agent, ["credential", "list"]).stdout.contains("phone lost"))
        let afterRevoke = try ctl(agent, ["call", "hostile.echo", #"{"v":"2"}"#, "--as", dir.path + "/dave", "--credential", cliFile])
        #expect(afterRevoke.status == 1 && afterRevoke.stderr.contains("revoked on this device"), "\(afterRevoke.stderr)")
        #expect(try ctl(agent, ["credential", "unrevoke", cliFile]).status == 0)
        #expect(try ctl(agent, ["call", "hostile.echo", #"{"v":"2"}"#, "--as", dir.path + "/dave", "--credential", cliFile]).status == 0)
        let noCapability = try ChildProcess.run(elactl, ["identity", "issue-access", "--dir", dir.path + "/owner", "--to", dave.did.description])
        #expect(noCapability.status != 0 && noCapability.stderr.contains("--capability"))
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()
    }

    @Test func auditVerifyDetectsAnEditedAndADeletedRow() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        var agent = try startAgent(dir)
        for i in 0..<5 { #expect(try ctl(agent, ["call", "hostile.echo", "{\"i\":\(i)}"]).status == 0) }
        #expect(try ctl(agent, ["audit", "verify"]).status == 0)
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()

        // Someone with the database rewrites a decision.
        let db = try SQLiteConnection(path: dir.path + "/state/agent.db")
        try db.execute("UPDATE audit_log SET decision = 'deny' WHERE seq = 3")
        db.close()
        agent = try startAgent(dir)
        let edited = try ctl(agent, ["audit", "verify"])
        #expect(edited.status == 1)
        #expect(edited.stdout.contains("3"), "\(edited.stdout)")
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()

        // Restore nothing; delete a different row as well.
        let db2 = try SQLiteConnection(path: dir.path + "/state/agent.db")
        try db2.execute("DELETE FROM audit_log WHERE seq = 2")
        db2.close()
        agent = try startAgent(dir)
        let deleted = try ctl(agent, ["audit", "verify", "--json"])
        #expect(deleted.status == 1)
        #expect(deleted.stdout.contains("2"), "\(deleted.stdout)")
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()
    }

    /// `[audit] max_rows`: `elactl audit prune` (as the agent's timer) removes the oldest rows once checked, the rest
    /// verifies from the cut across a restart, and an edited row after the cut is still caught and stops the next cut.
    @Test func auditRetentionKeepsTheNewestRowsAndTheChainStillVerifies() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        var agent = try startAgent(dir, config: "[audit]\nmax_rows = 1000\n")
        let client = ControlClient(socketPath: agent.socket)
        for i in 0..<1200 {
            _ = try client.call("call", params: ["method": "hostile.echo", "params": .object(["i": .number(JSONNumber(i))])])
        }
        let pruned = try ctl(agent, ["audit", "prune", "--json"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        let result = try JSONParser.parse(pruned.stdout)
        let through = try #require(result["pruned"]?["throughSeq"]?.numberValue?.int64Value, "\(pruned.stdout)")
        #expect(result["removed"]?.numberValue?.int64Value == through)
        #expect(through >= 200)
        let verify = try ctl(agent, ["audit", "verify", "--json"])
        #expect(verify.status == 0, "\(verify.stdout)")
        let walked = try JSONParser.parse(verify.stdout)
        // The newest thousand and the cut's own row.
        #expect(walked["rows"]?.numberValue?.int64Value == 1001, "\(verify.stdout)")
        #expect(walked["summary"]?.stringValue?.contains("rows 1-\(through) removed by retention") == true, "\(verify.stdout)")
        let oldest = try JSONParser.parse(try ctl(agent, ["audit", "list", "--limit", "5000", "--json"]).stdout).arrayValue?.first
        #expect(oldest?["seq"]?.numberValue?.int64Value == through + 1)
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()

        // Someone edits the oldest row left: verify names it, and the next cut stops there instead of removing it.
        let db = try SQLiteConnection(path: dir.path + "/state/agent.db")
        try db.run("UPDATE audit_log SET decision = 'deny' WHERE seq = ?", through + 1)
        db.close()
        agent = try startAgent(dir, config: "[audit]\nmax_rows = 1000\n")
        let edited = try ctl(agent, ["audit", "verify"])
        #expect(edited.status == 1 && edited.stdout.contains("row \(through + 1): hash does not match"), "\(edited.stdout)")
        for i in 0..<3 { #expect(try ctl(agent, ["call", "hostile.echo", "{\"i\":\(i)}"]).status == 0) }
        let stopped = try ctl(agent, ["audit", "prune"])
        #expect(stopped.status != 0 && stopped.stderr.contains("stopped at row \(through + 1)"), "\(stopped.stdout) \(stopped.stderr)")
        #expect(try ctl(agent, ["audit", "verify"]).stdout.contains("row \(through + 1)"))
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()
    }

    /// Both limits off: the retention service has nothing to do and must not end the agent with it.
    @Test func retentionOffKeepsEverythingAndTheAgentUp() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        let agent = try startAgent(dir, config: "[audit]\nmax_rows = 0\nmax_age_days = 0\n")
        for i in 0..<3 { #expect(try ctl(agent, ["call", "hostile.echo", "{\"i\":\(i)}"]).status == 0) }
        let pruned = try ctl(agent, ["audit", "prune", "--json"])
        let removed = try JSONParser.parse(pruned.stdout)["removed"]
        #expect(pruned.status == 0 && removed == 0, "\(pruned.stdout) \(pruned.stderr)")
        #expect(try ctl(agent, ["status"]).status == 0)
        agent.process.signal(SIGTERM)
        #expect(try agent.process.wait() == 0)
    }

    @Test func rowsInTheAuditJournalSurviveAKilledAgent() throws {
        let dir = TemporaryDirectory(prefix: "ela-gate")
        defer { dir.remove() }
        var agent = try startAgent(dir)
        let journal = dir.path + "/state/agent.db.audit-journal"
        func journalBytes() -> Int {
            var st = stat()
            return stat(journal, &st) == 0 ? Int(st.st_size) : -1
        }
        func stopped() -> Bool {
            // /proc/<pid>/stat: "pid (comm) T ...".
            guard let text = TestData.readString("/proc/\(agent.process.pid)/stat"), let close = text.lastIndex(of: ")") else { return false }
            return text[text.index(close, offsetBy: 2)] == "T"
        }
        // Calls until one leaves its row in the journal (rows move to the database within 200 ms). The agent is
        // stopped before the file is looked at, so no flush can run between the look and the SIGKILL: no shutdown,
        // no flush.
        var calls = 0
        var killedWithRows = false
        while calls < 40 && !killedWithRows {
            #expect(try ctl(agent, ["call", "hostile.echo", "{\"i\":\(calls)}"]).status == 0)
            calls += 1
            agent.process.signal(SIGSTOP)
            #expect(ChildProcess.waitUntil(timeoutSeconds: 5) { stopped() })
            if journalBytes() > 0 {
                agent.process.signal(SIGKILL)
                killedWithRows = true
            } else {
                agent.process.signal(SIGCONT)
            }
        }
        try #require(killedWithRows, "no call left its row in the journal")
        _ = try agent.process.wait()

        agent = try startAgent(dir)
        #expect(agent.process.stderr.contains("audit log: moved"), "\(agent.process.stderr)")
        #expect(journalBytes() == 0)
        let verify = try ctl(agent, ["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)")
        let list = try ctl(agent, ["audit", "list", "--limit", "500", "--json"])
        let echoes = (try JSONParser.parse(list.stdout)).arrayValue?.filter { $0["method"]?.stringValue == "hostile.echo" } ?? []
        #expect(echoes.count == calls)
        agent.process.signal(SIGTERM)
        _ = try agent.process.wait()
    }
}

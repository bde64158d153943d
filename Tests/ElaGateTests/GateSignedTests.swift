import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaSQLite
import ElaStorage
import ElaTestSupport
import Testing

@Suite(.ownThread) struct GateSignedTests {
    @Test func aGrantedCallIsAllowedAndAudited() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let grant = try f.grant(caller.did, "gpio.write", ["pin": ["LED0", "LED1"]])
        let request = try caller.request()
        let decision = f.send(request)
        #expect(decision.allowed, "\(decision.reason)")
        #expect(decision.subject == caller.did.description)
        #expect(decision.capability == "gpio.write")
        #expect(decision.grantID == grant.id)
        #expect(decision.reason == "grant \(grant.id) (gpio.write)")
        let row = try #require(try f.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.decision == .allow)
        #expect(row.entry.caller == .signed)
        #expect(row.entry.subject == caller.did.description)
        #expect(row.entry.method == "gpio.write")
        #expect(row.entry.request == request.text)
        #expect(row.entry.at == testNow * 1000)
    }

    @Test func wildcardGrantsCoverTheirFamily() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.*")
        #expect(f.send(try caller.request("gpio.read", params: [:])).allowed)
        #expect(f.send(try caller.request("gpio.watch", params: [:])).allowed)  // needs gpio.read
        #expect(f.send(try caller.request("sensors.list", params: [:])).reason == "no grant for sensors.read")
        let admin = try Caller()
        try f.grant(admin.did, "*")
        #expect(f.send(try admin.request("sensors.list", params: [:])).allowed)
    }

    @Test func deniedWithoutAGrant() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(try Caller().did, "gpio.write")  // someone else's
        let decision = f.send(try caller.request())
        #expect(!decision.allowed)
        #expect(decision.reason == "no grant for gpio.write")
        #expect(decision.auditSeq != nil)
        let row = try #require(try f.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.decision == .deny && row.entry.reason == "no grant for gpio.write")
    }

    /// Anyone can make requests that are refused (a fresh key, no grant): their rows keep the first 4 KiB, so a
    /// flood of large ones cannot fill the log. An allowed request's row keeps it whole.
    @Test func aDeniedRequestIsClippedInItsAuditRowAndAnAllowedOneIsNot() throws {
        let f = try GateFixture()
        let stranger = try Caller(), granted = try Caller()
        try f.grant(granted.did, "gpio.write")
        let big: JSONObject = ["pin": "LED0", "value": 1, "note": .string(String(repeating: "x", count: 50_000))]
        let denied = f.send(try stranger.request(params: big))
        #expect(!denied.allowed)
        let deniedRow = try #require(try f.gate.audit.record(seq: denied.auditSeq ?? -1))
        #expect(deniedRow.entry.request.utf8.count < 4200 && deniedRow.entry.request.hasSuffix("bytes in all]"), "\(deniedRow.entry.request.suffix(40))")
        let request = try granted.request(params: big)
        let allowed = f.send(request)
        #expect(allowed.allowed, "\(allowed.reason)")
        #expect(try f.gate.audit.record(seq: allowed.auditSeq ?? -1)?.entry.request == request.text)
        #expect(f.gate.verifyAudit().isOK)
    }

    @Test func constraintsAreEnforced() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write", ["pin": ["LED0"], "value": ["0", "1"]])
        #expect(f.send(try caller.request(params: ["pin": "LED2", "value": 1])).reason == "constraint pin: value \"LED2\" not allowed")
        #expect(f.send(try caller.request(params: ["value": 1])).reason == "constraint pin: param missing")
        #expect(f.send(try caller.request(params: ["pin": "LED0", "value": 7])).reason == "constraint value: value \"7\" not allowed")
        #expect(f.send(try caller.request(params: ["pin": "LED0", "value": 0])).allowed)
        #expect(f.send(try caller.request(params: ["pin": ["LED0"], "value": [0, 1]])).allowed)
    }

    @Test func aLaterGrantCanAllowWhatAnEarlierOneConstrains() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write", ["pin": ["LED0"]])
        let broad = try f.grant(caller.did, "gpio.*")
        #expect(f.send(try caller.request(params: ["pin": "LED9"])).grantID == broad.id)
    }

    @Test func expiredGrantsDoNotApply() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let grant = try f.grant(caller.did, "gpio.write", expiresAt: testNow + 60)
        #expect(f.send(try caller.request(at: testNow + 60), at: testNow + 60).allowed)  // through its last second
        let late = f.send(try caller.request(at: testNow + 61), at: testNow + 61)
        #expect(!late.allowed)
        #expect(late.reason == "grant \(grant.id) expired at \(DIDDate(secondsSince1970: testNow + 60))")
    }

    @Test func aReplayedNonceIsDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        let request = try caller.request(nonce: "0123456789abcdef0123456789abcdef")
        #expect(f.send(request).allowed)
        let replay = f.send(request, at: testNow + 5)
        #expect(!replay.allowed)
        #expect(replay.reason == "replayed nonce")
        #expect(replay.auditSeq != nil)
        // Same nonce in capitals, freshly signed: still the same nonce.
        #expect(f.send(try caller.request(at: testNow + 6, nonce: "0123456789ABCDEF0123456789ABCDEF"), at: testNow + 6).reason == "replayed nonce")
        // Another caller may use the same nonce.
        let other = try Caller()
        try f.grant(other.did, "gpio.write")
        #expect(f.send(try other.request(nonce: "0123456789abcdef0123456789abcdef")).allowed)
    }

    @Test func aReplayIsDeniedWhereverItsNonceIs() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        let request = try caller.request()
        #expect(f.send(request).allowed)
        #expect(f.send(request).reason == "replayed nonce")  // still in the journal
        try f.gate.audit.flush()
        #expect(f.send(request).reason == "replayed nonce")  // in the nonce table
        // The agent restarts: a second gate over the same files remembers it.
        try f.gate.audit.close()
        let restarted = Gate(store: f.store) { testMethods[$0] }
        #expect(restarted.authorize(signedText: request.text, nowMillis: testNow * 1000).decision.reason == "replayed nonce")
        #expect(restarted.verifyAudit().isOK)
    }

    @Test func aDeniedRequestStillUsesUpItsNonce() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let request = try caller.request()
        #expect(f.send(request).reason == "no grant for gpio.write")
        try f.grant(caller.did, "gpio.write")
        #expect(f.send(request).reason == "replayed nonce")
    }

    @Test func staleAndFutureTimestampsAreDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        #expect(f.send(try caller.request(at: testNow - 300)).allowed)  // the edge of the window
        #expect(f.send(try caller.request(at: testNow + 300)).allowed)
        // The device's own time is said too: either clock may be the wrong one.
        let clock = " (this device's clock reads 2025-11-24T16:00:00Z)"
        #expect(f.send(try caller.request(at: testNow - 301)).reason == "stale timestamp: signed 301 s ago, window 300 s" + clock)
        #expect(f.send(try caller.request(at: testNow + 301)).reason == "timestamp 301 s in the future, window 300 s" + clock)
        let tight = try GateFixture(configuration: GateConfiguration(replayWindowSeconds: 10))
        try tight.grant(caller.did, "gpio.write")
        #expect(tight.send(try caller.request(at: testNow - 11)).reason == "stale timestamp: signed 11 s ago, window 10 s" + clock)
        // A board that booted without a real-time clock, before NTP: the reason says so.
        #expect(
            f.send(try caller.request(at: testNow), at: 120).reason
                == "timestamp \(testNow - 120) s in the future, window 300 s (this device's clock reads 1970-01-01T00:02:00Z, before 2025: not set yet?)")
        // A stale request leaves no nonce behind.
        #expect(try tight.gate.rememberedNonces() == 0)
    }

    @Test func noncesArePrunedAfterTwiceTheWindow() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        #expect(f.send(try caller.request(at: testNow)).allowed)
        #expect(f.send(try caller.request(at: testNow + 600), at: testNow + 600).allowed)
        #expect(try f.gate.rememberedNonces() == 2)  // the first was seen exactly 2 windows ago: kept
        #expect(f.send(try caller.request(at: testNow + 601), at: testNow + 601).allowed)
        #expect(try f.gate.rememberedNonces() == 2)  // the first is gone
    }

    @Test func aBadSignatureIsDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        var envelope = try #require(try caller.request().json.objectValue)
        let other = try caller.request(params: ["pin": "LED9"])
        envelope["signature"] = other.json["signature"]  // a real signature by the right key, over other bytes
        let decision = f.send(try SignedRequest(json: .object(envelope)))
        #expect(!decision.allowed)
        #expect(decision.reason == "bad signature")
        #expect(try f.gate.rememberedNonces() == 0)  // unauthenticated: nothing remembered
    }

    @Test func tamperedParamsAreDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write", ["pin": ["LED0", "LED1"]])
        var envelope = try #require(try caller.request(params: ["pin": "LED0", "value": 0]).json.objectValue)
        envelope["params"] = .object(["pin": "LED1", "value": 1])
        let decision = f.send(try SignedRequest(json: .object(envelope)))
        #expect(decision.reason == "bad signature")
    }

    @Test func aDIDThatIsNotTheKeysIsDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        let victim = try Caller()
        try f.grant(victim.did, "gpio.write")
        // Claim the victim's DID, sign correctly with our own key.
        var envelope = try #require(try caller.request().json.objectValue)
        envelope["did"] = .string(victim.did.description)
        envelope["signature"] = .string(Base64URL.encode(try caller.key.signature(over: [SignedRequest.signedBytes(of: envelope)])))
        let forged = try SignedRequest(json: .object(envelope))
        #expect(forged.isSignatureValid)
        let decision = f.send(forged)
        #expect(!decision.allowed)
        #expect(decision.reason == "did \(victim.did) is not the DID of publicKey (\(caller.did))")
        #expect(decision.subject == victim.did.description)
    }

    @Test func unknownMethodsAreDenied() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "*")
        let decision = f.send(try caller.request("gpio.explode", params: [:]))
        #expect(!decision.allowed)
        #expect(decision.reason == "unknown method")
        #expect(decision.capability == nil)
    }

    @Test func aSubscriptionNeedsTheEventsCapabilityAndACallCannotNameAnEvent() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "sensors.read")
        let reading = try caller.request("sensors.reading", params: [:])
        // Reading sensors is not subscribing to them; a call of an event name is no plugin method.
        let withoutGrant = f.gate.authorize(.signed(reading, rawJSON: reading.text), now: testNow, action: .subscribe)
        #expect(!withoutGrant.allowed && withoutGrant.reason == "no grant for sensors.subscribe")
        try f.grant(caller.did, "sensors.subscribe")
        let subscribe = try caller.request("sensors.reading", params: [:])
        #expect(f.gate.authorize(.signed(subscribe, rawJSON: subscribe.text), now: testNow, action: .subscribe).allowed)
        let call = try caller.request("sensors.reading", params: [:])
        #expect(f.send(call).reason == "unknown method")
        // A remote caller has no admin actions.
        let pin = try caller.request("peer.pin", params: [:])
        #expect(f.gate.authorize(.signed(pin, rawJSON: pin.text), now: testNow, action: .manage).reason == "not a plugin method")
    }

    @Test func deactivatedDIDsAreDenied() throws {
        let caller = try Caller()
        let banned = caller.did
        let f = try GateFixture(configuration: GateConfiguration(isDeactivated: { $0 == banned }))
        try f.grant(caller.did, "*")
        #expect(f.send(try caller.request()).reason == "DID deactivated")
        let other = try Caller()
        try f.grant(other.did, "*")
        #expect(f.send(try other.request()).allowed)
    }

    @Test func malformedEnvelopesAreDeniedAndAudited() throws {
        let f = try GateFixture()
        let caller = try Caller()
        var envelope = try #require(try caller.request().json.objectValue)
        envelope["nonce"] = "short"
        let text = JSONWriter.compact(.object(envelope))
        let (decision, request) = f.gate.authorize(signedText: text, nowMillis: testNow * 1000)
        #expect(request == nil)
        #expect(!decision.allowed)
        #expect(decision.subject == caller.did.description)
        #expect(decision.reason.hasPrefix("malformed request: signed request nonce 'short'"))
        let row = try #require(try f.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.request == text)
        #expect(row.entry.method == "gpio.write")
        let garbage = f.gate.authorize(signedText: "not json", nowMillis: testNow * 1000).decision
        #expect(garbage.subject == "unknown" && !garbage.allowed)
        // A good one through the same entry point.
        try f.grant(caller.did, "gpio.write")
        let good = try caller.request()
        let (allowed, decoded) = f.gate.authorize(signedText: good.text, nowMillis: testNow * 1000)
        #expect(allowed.allowed && decoded == good)
    }

    @Test func aBrokenDatabaseDeniesEverything() throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        try f.raw().execute("DROP TABLE audit_log")
        // The journal takes the next row; moving it into the broken database fails, and from then on every call is
        // denied (each retries the move first).
        #expect(f.send(try caller.request()).allowed)
        #expect(throws: AuditJournalError.self) { try f.gate.audit.flush() }
        let decision = f.send(try caller.request())
        #expect(!decision.allowed)
        #expect(decision.auditSeq == nil)
        #expect(decision.reason.hasPrefix("audit log unavailable, call denied"))
    }
}

@Suite(.ownThread) struct GateLocalCallerTests {
    @Test func adminCallsAreAlwaysAllowedAndAudited() throws {
        let f = try GateFixture()
        let decision = f.gate.authorize(.admin(method: "gpio.write", params: ["pin": "LED3"], uid: 1000), now: testNow)
        #expect(decision.allowed)
        #expect(decision.subject == "uid:1000")
        #expect(decision.capability == "gpio.write")
        let row = try #require(try f.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.caller == .admin && row.entry.request == "{\"pin\":\"LED3\"}")
    }

    @Test func anAdminCallOfAnUnknownMethodIsDeniedButItsOwnActionsAreNot() throws {
        let f = try GateFixture()
        let unknown = f.gate.authorize(.admin(method: "gpio.explode", params: [:], uid: 0), now: testNow)
        #expect(!unknown.allowed && unknown.reason == "unknown method")
        let event = f.gate.authorize(.admin(method: "sensors.reading", params: [:], uid: 0), now: testNow, action: .subscribe)
        #expect(event.allowed && event.capability == "sensors.subscribe")
        let unknownEvent = f.gate.authorize(.admin(method: "gpio.write", params: [:], uid: 0), now: testNow, action: .subscribe)
        #expect(!unknownEvent.allowed && unknownEvent.reason == "unknown event")
        let manage = f.gate.authorize(.admin(method: "peer.pin", params: ["did": "x"], uid: 0), now: testNow, action: .manage)
        #expect(manage.allowed && manage.capability == nil)
        #expect(try f.gate.auditList(AuditFilter(subject: "uid:0")).map(\.entry.decision) == [.deny, .allow, .deny, .allow])
    }

    @Test func aPluginsRequestIsClippedInItsAuditRow() throws {
        let f = try GateFixture()
        let huge: JSONObject = ["pin": .string(String(repeating: "x", count: 100_000))]
        let decision = f.gate.authorize(.plugin(name: "mqtt", method: "gpio.write", params: huge, consumes: []), now: testNow)
        #expect(!decision.allowed)
        let row = try #require(try f.gate.audit.record(seq: decision.auditSeq ?? -1))
        #expect(row.entry.request.utf8.count < 10_000)
        #expect(row.entry.request.hasPrefix("{\"pin\":\"xxx"))
    }

    @Test func pluginsCallWhatTheyConsume() throws {
        let f = try GateFixture()
        let consumes = [try CapabilityPattern("sensors.*"), try CapabilityPattern("gpio.read")]
        let allowed = f.gate.authorize(.plugin(name: "mqtt", method: "sensors.list", params: [:], consumes: consumes), now: testNow)
        #expect(allowed.allowed)
        #expect(allowed.reason == "plugin mqtt consumes sensors.*")
        #expect(allowed.subject == "plugin:mqtt")
        #expect(f.gate.authorize(.plugin(name: "mqtt", method: "gpio.watch", params: [:], consumes: consumes), now: testNow).allowed)
        let denied = f.gate.authorize(.plugin(name: "mqtt", method: "gpio.write", params: [:], consumes: consumes), now: testNow)
        #expect(!denied.allowed)
        #expect(denied.reason == "plugin mqtt does not consume gpio.write")
        let unknown = f.gate.authorize(.plugin(name: "mqtt", method: "x.y", params: [:], consumes: [try CapabilityPattern("*")]), now: testNow)
        #expect(unknown.reason == "unknown method")
        let rows = try f.gate.auditList(AuditFilter(subject: "plugin:mqtt"))
        #expect(rows.map(\.entry.decision) == [.allow, .allow, .deny, .deny])
        #expect(rows.allSatisfy { $0.entry.caller == .plugin })
    }
}

@Suite(.ownThread) struct GateConcurrencyTests {
    @Test func aNonceIsAcceptedOnceUnderConcurrentDelivery() async throws {
        let f = try GateFixture()
        let caller = try Caller()
        try f.grant(caller.did, "gpio.write")
        let request = try caller.request()
        let gate = f.gate
        let decisions = await withTaskGroup(of: GateDecision?.self) { group in
            for _ in 0..<8 { group.addTask { gate.authorize(.signed(request, rawJSON: request.text), now: testNow) } }
            // Rows (and the nonce) move into the database meanwhile: a replay must be caught on either side.
            for _ in 0..<4 {
                group.addTask {
                    try? gate.audit.flush()
                    return nil
                }
            }
            var all: [GateDecision] = []
            for await decision in group { if let decision { all.append(decision) } }
            return all
        }
        #expect(decisions.filter(\.allowed).count == 1)
        #expect(decisions.filter { $0.reason == "replayed nonce" }.count == 7)
        #expect(Set(decisions.compactMap(\.auditSeq)).count == 8)
        let result = gate.verifyAudit()
        #expect(result.isOK && result.rowCount == 9)
    }
}

@Suite(.ownThread) struct GateExtremeTimesTests {
    @Test func extremeTimestampsAndWindowsDoNotTrap() throws {
        let caller = try Caller()
        let f = try GateFixture(configuration: GateConfiguration(replayWindowSeconds: .max))
        try f.grant(caller.did, "gpio.write")
        #expect(f.send(try caller.request(at: .max)).allowed)
        #expect(f.send(try caller.request(at: 0)).allowed)
        let normal = try GateFixture()
        try normal.grant(caller.did, "gpio.write")
        #expect(normal.send(try caller.request(at: .max), at: -1_000_000).reason.hasPrefix("timestamp "))
        #expect(normal.send(try caller.request(at: 0), at: .max / 1000).reason.hasPrefix("stale timestamp"))
    }
}

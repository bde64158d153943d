#if canImport(Glibc)
import Glibc
#endif
import ElaJSON
import ElaMQTTBridge
import ElaTestSupport
import ElaMosquitto
import Testing

@Suite struct TopicsAndConfigTests {
    @Test func topicsLiveUnderTheDeviceDID() throws {
        let t = try MQTTTopics(prefix: "ela", deviceDID: "did:elastos:iXyz123")
        #expect(t.status == "ela/iXyz123/status")
        #expect(t.event(plugin: "sensors", name: "sensors.reading") == "ela/iXyz123/events/sensors/reading")
        #expect(t.event(plugin: "gpio", name: "gpio.edge") == "ela/iXyz123/events/gpio/edge")
        #expect(t.commandFilter == "ela/iXyz123/cmd/+")
        #expect(t.commandMethod("ela/iXyz123/cmd/gpio.write") == "gpio.write")
        #expect(t.commandMethod("ela/other/cmd/gpio.write") == nil)
        #expect(t.commandMethod("ela/iXyz123/cmd/") == nil)
        #expect(t.reply("r-1") == "ela/iXyz123/reply/r-1")
        #expect(try MQTTTopics(prefix: "fleet/site-3", deviceDID: "did:elastos:iA").status == "fleet/site-3/iA/status")
        for bad in ["", "a/+/b", "#", "a//b", "/a"] {
            #expect(throws: BridgeConfigError.self) { try MQTTTopics(prefix: bad, deviceDID: "did:elastos:iA") }
        }
        #expect(MQTTTopics.isValidRequestID("abc-1_2.3:4"))
        #expect(!MQTTTopics.isValidRequestID("a/b") && !MQTTTopics.isValidRequestID("") && !MQTTTopics.isValidRequestID("+"))
        #expect(!MQTTTopics.isValidRequestID(String(repeating: "a", count: 65)))
    }

    @Test func brokerURLs() throws {
        #expect(try BrokerURL("mqtt://127.0.0.1:1884") == BrokerURL(host: "127.0.0.1", port: 1884, tls: false))
        #expect(try BrokerURL("mqtts://broker.example") == BrokerURL(host: "broker.example", port: 8883, tls: true))
        #expect(try BrokerURL("mqtt://[::1]:1883") == BrokerURL(host: "::1", port: 1883, tls: false))
        for bad in ["tcp://x", "mqtt://", "mqtt://h:0", "mqtt://h:70000", "mqtt://u:p@h", "mqtt://h/path"] {
            #expect(throws: BridgeConfigError.self) { try BrokerURL(bad) }
        }
    }

    @Test func configKeysAreTypedAndNamed() throws {
        let c = try BridgeConfig(json: [
            "broker": "mqtts://b:8884", "protocol": "5", "ca_file": "/etc/ca.pem", "cert_file": "/c", "key_file": "/k",
            "username": "u", "password": "p", "topic_prefix": "fleet", "forward": ["sensors.*"], "outbox_max_messages": 10,
            "outbox_full": "drop-newest", "keepalive_seconds": 10,
        ])
        #expect(c.broker.tls && c.broker.port == 8884 && c.protocolVersion == "5" && c.caFile == "/etc/ca.pem")
        #expect(c.username == "u" && c.password == "p" && c.topicPrefix == "fleet" && c.forward == ["sensors.*"])
        #expect(c.outboxMaxMessages == 10 && c.outboxFull == .dropNewest && c.keepaliveSeconds == 10)
        #expect(try BridgeConfig(json: [:]) == BridgeConfig())

        func key(_ json: JSONObject) -> String? {
            do {
                _ = try BridgeConfig(json: json)
                return nil
            } catch { return error.key }
        }
        #expect(key(["protocol": "4"]) == "protocol")
        #expect(key(["outbox_max_messages": 0]) == "outbox_max_messages")
        #expect(key(["outbox_max_messages": "many"]) == "outbox_max_messages")
        #expect(key(["outbox_full": "panic"]) == "outbox_full")
        #expect(key(["cert_file": "/c"]) == "key_file")
        #expect(key(["broker": "mqtt://h", "ca_file": "/ca"]) == "broker")
        #expect(key(["forward": [1]]) == "forward")
        #expect(key(["bogus": true]) == "bogus")
        #expect(key(["reconnect_min_ms": 5000, "reconnect_max_ms": 100]) == "reconnect_max_ms")
        #expect(key(["broker": "mqtts://h", "cert_pem": "-----BEGIN CERTIFICATE-----"]) == "key_pem")
        #expect(key(["broker": "mqtts://h", "ca_pem": "not a certificate"]) == "ca_pem")
        #expect(key(["broker": "mqtt://h", "ca_pem": "-----BEGIN CERTIFICATE-----"]) == "broker")
    }

    /// The agent hands TLS material over as PEM text; the plugin keeps it as 0600 files in its own state directory.
    @Test func tlsMaterialIsStoredAsPrivateFiles() throws {
        let dir = TemporaryDirectory(prefix: "ela-mqtt-pem")
        defer { dir.remove() }
        let ca = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
        let key = "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n"
        var c = try BridgeConfig(json: [
            "broker": "mqtts://b", "ca_pem": .string(ca), "cert_pem": "-----BEGIN CERTIFICATE-----\nC\n", "key_pem": .string(key),
        ])
        try c.storeTLSMaterial(in: dir.path + "/tls")
        #expect(c.caFile == dir.path + "/tls/ca.pem" && c.certFile == dir.path + "/tls/client.pem" && c.keyFile == dir.path + "/tls/client.key")
        #expect(TestData.readString(dir.path + "/tls/client.key") == key && TestData.readString(dir.path + "/tls/ca.pem") == ca)
        for (path, mode) in [("/tls", 0o700), ("/tls/ca.pem", 0o600), ("/tls/client.key", 0o600)] {
            var st = stat()
            #expect(stat(dir.path + path, &st) == 0 && Int(st.st_mode) & 0o777 == mode, "\(path)")
        }
        // Without PEM material nothing is written and the file settings stay as they were.
        var plain = try BridgeConfig(json: ["broker": "mqtts://b", "ca_file": "/etc/ca.pem"])
        try plain.storeTLSMaterial(in: dir.path + "/none")
        #expect(plain.caFile == "/etc/ca.pem" && access(dir.path + "/none", F_OK) != 0)
        // The client certificate taken out of the config: its old copies go.
        var caOnly = try BridgeConfig(json: ["broker": "mqtts://b", "ca_pem": .string(ca)])
        try caOnly.storeTLSMaterial(in: dir.path + "/tls")
        #expect(access(dir.path + "/tls/client.key", F_OK) != 0 && access(dir.path + "/tls/client.pem", F_OK) != 0)
        #expect(TestData.readString(dir.path + "/tls/ca.pem") == ca)
        // A file the agent could not read: the bridge refuses to start rather than trust the system CAs instead.
        #expect(throws: BridgeConfigError.self) { try BridgeConfig(json: ["broker": "mqtts://b", "tls_error": "mqtt.ca_file /x: unreadable"]) }
    }

    @Test func backoffDoublesUpToTheCap() {
        let b = ReconnectBackoff(minimumMs: 200, maximumMs: 5000)
        #expect((1...7).map { b.delayMs(attempt: $0) } == [200, 400, 800, 1600, 3200, 5000, 5000])
        #expect(b.delayMs(attempt: 1000) == 5000)
    }

    @Test func theLinkStateMachineSaysWhenToResumeAndPause() throws {
        var link = BridgeLink(nowMs: 0)
        #expect(link.state == .connecting)
        let e = MosquittoErrorFixture.refused
        #expect(link.handle(.connectFailed(e, attempt: 1), nowMs: 10) == nil)
        #expect(link.state == .offline && link.sinceMs == 10 && link.lastError?.contains("attempt 1") == true)
        #expect(link.handle(.connected(code: 0, reason: "ok"), nowMs: 20) == .cameOnline)
        #expect(link.isOnline && link.connects == 1 && link.lastError == nil)
        #expect(link.handle(.published(mid: 3), nowMs: 25) == nil)
        #expect(link.handle(.disconnected(code: 7), nowMs: 30) == .wentOffline)
        #expect(link.losses == 1 && link.state == .offline && link.sinceMs == 30)
        #expect(link.handle(.connected(code: 5, reason: "not authorised"), nowMs: 40) == nil)
        #expect(link.lastError?.contains("not authorised") == true)
        #expect(link.handle(.connected(code: 0, reason: "ok"), nowMs: 50) == .cameOnline)
        #expect(link.connects == 2)
    }
}

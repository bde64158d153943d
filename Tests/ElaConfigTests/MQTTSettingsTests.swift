import ElaConfig
import Testing

@Suite struct MQTTSettingsTests {
    @Test func theSectionParsesAndBecomesThePluginConfig() throws {
        let c = try AgentConfig.parse(
            """
            [mqtt]
            broker = "mqtts://broker.example:8884"
            protocol = "5"
            ca_file = "/etc/ela-agent/ca.pem"
            cert_file = "/etc/ela-agent/client.pem"
            key_file = "/etc/ela-agent/client.key"
            username = "dev1"
            password_file = "/etc/ela-agent/mqtt.pass"
            topic_prefix = "fleet"
            forward = ["sensors.*", "gpio.edge"]
            outbox_max_messages = 5000
            outbox_max_bytes = 1048576
            outbox_full = "drop-oldest"
            """)
        let m = try #require(c.mqtt)
        #expect(m.broker == "mqtts://broker.example:8884" && m.protocolVersion == "5" && m.passwordFile == "/etc/ela-agent/mqtt.pass")
        let keys = m.entries.map(\.key)
        #expect(keys == ["broker", "protocol", "username", "ca_file", "cert_file", "key_file", "topic_prefix", "forward",
                         "outbox_max_messages", "outbox_max_bytes", "outbox_full"])
        #expect(m.entries.first { $0.key == "forward" }?.value == .strings(["sensors.*", "gpio.edge"]))
        #expect(try AgentConfig.parse("").mqtt == nil)
    }

    @Test(arguments: [
        ("[mqtt]\nbroker = \"tcp://x\"\n", "mqtt.broker"),
        ("[mqtt]\nprotocol = \"4\"\n", "mqtt.protocol"),
        ("[mqtt]\noutbox_full = \"panic\"\n", "mqtt.outbox_full"),
        ("[mqtt]\noutbox_max_messages = 0\n", "mqtt.outbox_max_messages"),
        ("[mqtt]\ncert_file = \"/c\"\n", "mqtt.key_file"),
        ("[mqtt]\nca_file = \"relative.pem\"\n", "mqtt.ca_file"),
        ("[mqtt]\npassword = \"a\"\npassword_file = \"/p\"\n", "mqtt.password_file"),
        ("[mqtt]\nbrokr = \"mqtt://x\"\n", "mqtt.brokr"),
        ("[mqtt]\nkeepalive_seconds = \"ten\"\n", "mqtt.keepalive_seconds"),
    ])
    func mistakesNameTheKey(text: String, key: String) {
        #expect {
            _ = try AgentConfig.parse(text)
        } throws: { e in
            (e as? ConfigError)?.key == key
        }
    }
}

import ElaConfig
import Testing

@Suite struct CarrierSettingsTests {
    let key = String(repeating: "ab", count: 32)

    @Test func theSectionParses() throws {
        let c = try AgentConfig.parse(
            """
            [carrier]
            udp = false
            window = 16
            udp_window = 1024
            [[carrier.bootstrap]]
            host = "node.example"
            port = 33445
            public_key = "\(key.uppercased())"
            [[carrier.relay]]
            host = "127.0.0.1"
            port = 443
            public_key = "\(key)"

            """)
        #expect(c.carrier.isEnabled && !c.carrier.udp && !c.carrier.lanDiscovery && c.carrier.window == 16 && c.carrier.udpWindow == 1024)
        #expect(try AgentConfig.parse("").carrier.udpWindow == 512)
        #expect(c.carrier.bootstrap == [CarrierSettings.Node(host: "node.example", port: 33445, publicKey: key)])
        #expect(c.carrier.relays.map(\.port) == [443])
    }

    @Test func withoutNodesTheCarrierIsOffUnlessEnabled() throws {
        #expect(!(try AgentConfig.parse("")).carrier.isEnabled)
        #expect(try AgentConfig.parse("[carrier]\nenable = true\n").carrier.isEnabled)
        #expect(try AgentConfig.parse("[carrier]\nlan_discovery = true\n").carrier.lanDiscovery)
    }

    @Test(arguments: [
        ("[[carrier.bootstrap]]\nhost = \"h\"\nport = 0\npublic_key = \"\(String(repeating: "ab", count: 32))\"\n", "carrier.bootstrap[0].port"),
        ("[[carrier.bootstrap]]\nhost = \"h\"\nport = 1\npublic_key = \"abc\"\n", "carrier.bootstrap[0].public_key"),
        ("[[carrier.relay]]\nhost = \"\"\nport = 1\npublic_key = \"\(String(repeating: "ab", count: 32))\"\n", "carrier.relay[0].host"),
        ("[carrier]\nwindow = 1000\n", "carrier.window"),
        ("[carrier]\nudp_window = 0\n", "carrier.udp_window"),
    ])
    func mistakesNameTheKey(text: String, key: String) {
        #expect {
            _ = try AgentConfig.parse(text)
        } throws: { e in
            (e as? ConfigError)?.key == key
        }
    }
}

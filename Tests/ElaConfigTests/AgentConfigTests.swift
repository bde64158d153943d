import ElaConfig
import ElaTestSupport
import Testing

@Suite(.ownThread) struct AgentConfigTests {
    @Test func packagedConfigEqualsTheDefaults() throws {
        let text = try #require(TestData.readString(TestData.repoRoot + "/Packaging/agent.toml"))
        let config = try AgentConfig.parse(text)
        var defaults = AgentConfig()
        defaults.protection = .machineSecret(path: "/var/lib/ela-agent/machine.key")
        #expect(config.board == "sim")
        #expect(config.stateDir == defaults.stateDir)
        #expect(config.logLevel == .info)
        #expect(config.controlSocketMode == 0o660)
        #expect(config.pluginPingSeconds == defaults.pluginPingSeconds)
        #expect(config.pluginRequestsPerSecond == defaults.pluginRequestsPerSecond)
        #expect(config.auditMaxRows == defaults.auditMaxRows && config.auditMaxAgeDays == defaults.auditMaxAgeDays)
        #expect(config.effectiveProtection == .machineSecret(path: "/var/lib/ela-agent/machine.key"))
        #expect(try AgentConfig.parse("") == AgentConfig())
    }

    /// The commented `[carrier]` example in the packaged file, uncommented, is a valid section with the defaults it
    /// claims (the key of its nodes filled in).
    @Test func packagedCarrierExampleParsesWithItsDefaults() throws {
        let text = try #require(TestData.readString(TestData.repoRoot + "/Packaging/agent.toml"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex(of: "# [carrier]"))
        let section = lines[start...].prefix { $0.hasPrefix("# ") }.map { line -> String in
            let uncommented = String(line.dropFirst(2))
            // A trailing "# why" is a comment in TOML too; only the placeholder key needs a value.
            return uncommented.contains("<64 hex digits>") ? "public_key = \"\(String(repeating: "ab", count: 32))\"" : uncommented
        }
        let c = try AgentConfig.parse(section.joined(separator: "\n")).carrier
        let defaults = CarrierSettings()
        #expect(c.udp == defaults.udp && c.lanDiscovery == defaults.lanDiscovery && c.window == defaults.window && c.udpWindow == defaults.udpWindow)
        #expect(c.bootstrap.count == 1 && c.relays.count == 1 && c.bootstrap.first?.port == 33445)
        #expect(c.isEnabled)
    }

    /// `elactl config set` values lie over the file's; bare words are taken as text; only some sections may be set.
    @Test func overridesReplaceTheFilesValues() throws {
        let c = try AgentConfig.parse("[spv]\nconfirmations = 6\n", overrides: ["spv.confirmations": "3", "audit.max_rows": "2000"])
        #expect(c.spvConfirmations == 3 && c.auditMaxRows == 2000)
        #expect(ConfigOverrides.valueText("regnet") == "\"regnet\"")
        #expect(ConfigOverrides.valueText("3") == "3" && ConfigOverrides.valueText("[\"a\", \"b\"]") == "[\"a\", \"b\"]")
        #expect(ConfigOverrides.valueText("a \"quoted\" \\ word") == "\"a \\\"quoted\\\" \\\\ word\"")
        #expect(try AgentConfig.parse("", overrides: ["spv.network": ConfigOverrides.valueText("regnet")]).spvNetwork == .regnet)
        #expect(throws: ConfigError.self) { try AgentConfig.parse("", overrides: ["spv.network": "\"moon\""]) }
        #expect(throws: ConfigError.self) { try AgentConfig.parse("", overrides: ["spv.colour": "1"]) }
        #expect(throws: ConfigError.self) { try AgentConfig.parse("", overrides: ["spv.network": "not toml ["]) }
        #expect(ConfigOverrides.refusal("agent.state_dir")?.contains("agent.toml") == true)
        #expect(ConfigOverrides.refusal("spv") != nil && ConfigOverrides.refusal("spv.a.b") != nil)
        #expect(ConfigOverrides.refusal("carrier.udp") == nil)
    }

    @Test func auditRetentionParses() throws {
        let c = try AgentConfig.parse("[audit]\nmax_rows = 0\nmax_age_days = 30\n")
        #expect(c.auditMaxRows == 0 && c.auditMaxAgeDays == 30)
        #expect(AgentConfig().auditMaxRows == 500_000 && AgentConfig().auditMaxAgeDays == 0)
    }

    @Test func spvSectionParses() throws {
        let c = try AgentConfig.parse("[spv]\nnetwork = \"regnet\"\npeers = [\"127.0.0.1:22338\", \"node.example:20338\"]\nconfirmations = 3\n")
        #expect(c.spvNetwork == .regnet)
        #expect(c.spvPeers == ["127.0.0.1:22338", "node.example:20338"])
        #expect(c.spvConfirmations == 3)
        #expect(c.spvStart == .checkpoint)
        #expect(try AgentConfig.parse("[spv]\nstart = \"genesis\"\n").spvStart == .genesis)
        #expect(AgentConfig().spvPeers.isEmpty)
    }

    @Test func valuesAreApplied() throws {
        let c = try AgentConfig.parse(
            """
            [agent]
            board = "raspberry-pi-4b"
            state_dir = "/srv/ela"
            log_level = "debug"
            [identity]
            protection = "passphrase"
            passphrase_file = "/etc/ela-agent/pw"
            kdf = "interactive"
            [control]
            socket_mode = "0600"
            socket_group = "ela-agent"
            [plugins]
            ping_seconds = 2.5
            requests_per_second = 2000
            """)
        #expect(c.board == "raspberry-pi-4b")
        #expect(c.databasePath == "/srv/ela/agent.db")
        #expect(c.logLevel == .debug)
        #expect(c.effectiveProtection == .passphrase(file: "/etc/ela-agent/pw"))
        #expect(c.kdf == .interactive)
        #expect(c.controlSocketMode == 0o600)
        #expect(c.controlSocketGroup == "ela-agent")
        #expect(c.pluginPingSeconds == 2.5 && c.pluginRequestsPerSecond == 2000)
    }

    /// Each bad file is rejected with the key and the line it is on.
    @Test(arguments: [
        ("[agent]\nboard = \"Bad Board\"\n", "agent.board", 2),
        ("[control]\nsocket_group = \"Wheel Group\"\n", "control.socket_group", 2),
        ("[agent]\n\nstate_dir = \"relative\"\n", "agent.state_dir", 3),
        ("[agent]\nlog_level = \"loud\"\n", "agent.log_level", 2),
        ("[agent]\nboard = 4\n", "agent.board", 2),
        ("[agent]\nboard = \"sim\"\ncolour = \"red\"\n", "agent.colour", 3),
        ("[identity]\nprotection = \"magic\"\n", "identity.protection", 2),
        ("[identity]\nprotection = \"passphrase\"\nmachine_secret = \"/x\"\n", "identity.machine_secret", 3),
        ("[identity]\ndocument_validity_years = 9\n", "identity.document_validity_years", 2),
        ("[control]\nsocket_mode = \"0999\"\n", "control.socket_mode", 2),
        ("[spv]\nnetwork = \"moon\"\n", "spv.network", 2),
        ("[spv]\n\npeers = [\"nohost\"]\n", "spv.peers[0]", 3),
        ("[spv]\nconfirmations = 0\n", "spv.confirmations", 2),
        ("[plugins]\nrequests_per_second = 0\n", "plugins.requests_per_second", 2),
        ("[audit]\nmax_rows = 10\n", "audit.max_rows", 2),
        ("[audit]\nmax_age_days = -1\n", "audit.max_age_days", 2),
    ])
    func invalidValuesNameKeyAndLine(_ text: String, _ key: String, _ line: Int) {
        do {
            _ = try AgentConfig.parse(text, fileName: "agent.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
            #expect(error.description.hasPrefix("agent.toml:\(line): \(key): "))
        }
    }

    @Test func syntaxErrorsGiveTheLine() {
        do {
            _ = try AgentConfig.parse("[agent]\nboard = \"sim\n", fileName: "x.toml")
            Issue.record("accepted")
        } catch {
            #expect(error.line == 2)
            #expect(error.description.hasPrefix("x.toml:2:"))
        }
    }

    @Test func commandLineOverridesWin() throws {
        var c = try AgentConfig.parse("[agent]\nboard = \"sim\"\n")
        try c.override(board: "beaglebone-black", stateDir: "/tmp/s", runtimeDir: "/tmp/r")
        #expect(c.board == "beaglebone-black")
        #expect(c.controlSocketPath == "/tmp/r/control.sock")
        #expect(throws: ConfigError.self) { try c.override(board: "../etc", stateDir: nil, runtimeDir: nil) }
    }
}

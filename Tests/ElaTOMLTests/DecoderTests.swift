import ElaTOML
import ElaTestSupport
import Testing

/// The Decodable bridge: values, errors naming key and line, unknown-key rejection.
@Suite(.ownThread) struct DecoderTests {
    enum LogLevel: String, Decodable { case debug, info, warning, error }

    struct Config: Decodable, Equatable {
        struct Agent: Decodable, Equatable {
            var name: String
            var port: UInt16
            var log_level: LogLevel
            var timeout: Double
            var retries: Int?
            var verbose: Bool
        }
        struct Peer: Decodable, Equatable {
            var host: String
            var weight: UInt32
        }
        var agent: Agent
        var peers: [Peer]
        var labels: [String: String]
        var ports: [Int64]
    }

    static let document = """
        # agent config
        [agent]
        name = "edge-1"
        port = 8443
        log_level = "info"
        timeout = 5
        verbose = false

        [labels]
        site = "lab"
        "rack.no" = "7"

        [[peers]]
        host = "a.example"
        weight = 1

        [[peers]]
        host = "b.example"
        weight = 2
        """ + "\nports = [1, 2]\n"

    /// Decodes `text`, returning the error (and recording an issue if it decodes).
    func decodingError<T: Decodable>(
        _ type: T.Type, _ text: String, decoder: TOMLDecoder = TOMLDecoder(fileName: "agent.toml"),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> TOMLDecodingError? {
        do {
            _ = try decoder.decode(type, from: text)
            Issue.record("expected a decoding error", sourceLocation: sourceLocation)
        } catch let error as TOMLDecodingError {
            return error
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func decodesANestedConfig() throws {
        // `ports` sits in the last [[peers]] element, so this type must not see it at the root.
        struct Root: Decodable {
            var agent: Config.Agent
            var labels: [String: String]
            var peers: [PeerWithPorts]
        }
        struct PeerWithPorts: Decodable {
            var host: String
            var weight: UInt32
            var ports: [Int64]?
        }
        let root = try TOMLDecoder().decode(Root.self, from: Self.document)
        #expect(root.agent == Config.Agent(name: "edge-1", port: 8443, log_level: .info, timeout: 5, retries: nil, verbose: false))
        #expect(root.labels == ["site": "lab", "rack.no": "7"])
        #expect(root.peers.map(\.host) == ["a.example", "b.example"])
        #expect(root.peers[1].ports == [1, 2])
        #expect(root.peers[0].ports == nil)
    }

    @Test func typeMismatchNamesKeyAndLine() {
        let text = "[agent]\nname = 'x'\nport = \"8443\"\n"
        let error = decodingError(Config.self, text)
        #expect(error?.kind == .typeMismatch)
        #expect(error?.codingPath == "agent.port")
        #expect(error?.line == 3)
        #expect(error?.description == "agent.toml:3: agent.port: expected an integer, found a string")
    }

    @Test func outOfRangeAndEnumErrors() {
        struct Small: Decodable { var port: UInt16 }
        let range = decodingError(Small.self, "\n\nport = 70000")
        #expect(range?.kind == .invalidValue)
        #expect(range?.description == "agent.toml:3: port: 70000 is out of range for UInt16 (0...65535)")

        struct Leveled: Decodable { var level: LogLevel }
        let level = decodingError(Leveled.self, "level = \"verbose\"")
        #expect(level?.kind == .invalidValue)
        #expect(level?.codingPath == "level")
        #expect(level?.line == 1)
        #expect(level?.message.contains("verbose") == true)
    }

    @Test func missingKeyNamesTheParentLine() {
        struct Inner: Decodable { var port: Int }
        struct Outer: Decodable { var agent: Inner }
        let error = decodingError(Outer.self, "# comment\n[agent]\nname = 1\n", decoder: TOMLDecoder(rejectUnknownKeys: false))
        #expect(error?.kind == .missingKey)
        #expect(error?.codingPath == "agent.port")
        #expect(error?.line == 2)
    }

    @Test func arrayElementErrorsHaveIndexedPaths() {
        let text = "[[peers]]\nhost = 'a'\nweight = 1\n[[peers]]\nhost = 'b'\nweight = -1\n"
        struct Peers: Decodable { var peers: [Config.Peer] }
        let error = decodingError(Peers.self, text)
        #expect(error?.codingPath == "peers[1].weight")
        #expect(error?.line == 6)
    }

    @Test func unknownKeysAreRejectedWithTheirLine() throws {
        struct Agent: Decodable { var port: Int }
        struct Root: Decodable { var agent: Agent }
        let text = "[agent]\nport = 1\nprot = 2\n[extra]\nx = 1\n"
        let error = decodingError(Root.self, text)
        #expect(error?.kind == .unknownKey)
        #expect(error?.codingPath == "agent.prot")
        #expect(error?.line == 3)
        #expect(error?.description == "agent.toml:3: agent.prot: unknown key (did you mean 'port'?)")
        // A whole unused table is reported at its header, with the names known there when none is close.
        let table = decodingError(Root.self, "[agent]\nport = 1\n[extra]\nx = 1\n")
        #expect(table?.codingPath == "extra")
        #expect(table?.line == 3)
        #expect(table?.message == "unknown key (known keys here: agent)")
        // Off: ignored.
        let root = try TOMLDecoder(rejectUnknownKeys: false).decode(Root.self, from: text)
        #expect(root.agent.port == 1)
    }

    @Test func unknownKeysSuggestTheNameMeant() throws {
        struct Audit: Decodable {
            var maxRows: Int?
            var retentionDays: Int?
            var journal: Bool?
            enum CodingKeys: String, CodingKey {
                case maxRows = "max_rows"
                case retentionDays = "retention_days"
                case journal
            }
        }
        struct Root: Decodable { var audit: Audit? }
        // Absent optional keys count as known: the type asked for them.
        let cases: [(String, String)] = [
            ("retentionDays", "unknown key (did you mean 'retention_days'?)"),
            ("RETENTION-DAYS", "unknown key (did you mean 'retention_days'?)"),
            ("max_row", "unknown key (did you mean 'max_rows'?)"),
            ("jornal", "unknown key (did you mean 'journal'?)"),
            ("journla", "unknown key (did you mean 'journal'?)"),
            ("colour", "unknown key (known keys here: journal, max_rows, retention_days)"),
        ]
        for (key, message) in cases {
            let error = decodingError(Root.self, "[audit]\n\(key) = 1\n")
            #expect(error?.kind == .unknownKey)
            #expect(error?.codingPath == "audit.\(key)")
            #expect(error?.message == message, "\(key)")
        }
        // In an array of tables, each element's own names.
        struct Peer: Decodable { var host: String }
        struct Peers: Decodable { var peers: [Peer] }
        let peer = decodingError(Peers.self, "[[peers]]\nhost = 'a'\n[[peers]]\nhost = 'b'\nhots = 1\n")
        #expect(peer?.codingPath == "peers[1].hots")
        #expect(peer?.message == "unknown key (did you mean 'host'?)")
        // Under a value the type takes whole (a dictionary), nothing is unknown; in a table it never reads, nothing
        // is expected.
        struct Free: Decodable { var settings: [String: Int] }
        #expect(try TOMLDecoder().decode(Free.self, from: "[settings]\nanything = 1\n").settings == ["anything": 1])
        struct Empty: Decodable {}
        #expect(decodingError(Empty.self, "x = 1\n")?.message == "unknown key (nothing is expected here)")
    }

    @Test func optionalsAndFreeFormTables() throws {
        struct Plugin: Decodable {
            var name: String
            var description: String?
            var settings: TOMLTable
            var started: TOMLDateTime?
        }
        let plugin = try TOMLDecoder().decode(
            Plugin.self, from: "name = 'gpio'\nstarted = 2024-01-02T03:04:05Z\n[settings]\nchip = 'gpiochip0'\nlines = [1, 2]\n")
        #expect(plugin.description == nil)
        #expect(plugin.settings["chip"] == .string("gpiochip0"))
        #expect(plugin.started?.offsetMinutes == 0)
        #expect(plugin.started?.year == 2024)
    }

    @Test func syntaxErrorsAreReportedWithLineAndColumn() {
        struct Any1: Decodable { var a: Int }
        let error = decodingError(Any1.self, "a = 1\nb = = 2\n")
        #expect(error?.kind == .syntax)
        #expect(error?.description == "agent.toml:2:5: expected a value, found '='")
    }

    @Test func integersConvertToDoubleButNotBack() {
        struct Numbers: Decodable { var count: Int }
        let error = decodingError(Numbers.self, "count = 1.5")
        #expect(error?.description == "agent.toml:1: count: expected an integer, found a float")
    }

    @Test func collectionsEnumsAndFloats() throws {
        struct Settings: Decodable {
            var levels: [LogLevel]
            var ratio: Float
            var limits: [String: Int]
        }
        let settings = try TOMLDecoder().decode(
            Settings.self, from: "levels = ['debug', 'error']\nratio = 0.1\nlimits = { a = 1, b = 2 }\n")
        #expect(settings.levels == [.debug, .error])
        #expect(settings.ratio == 0.1)
        #expect(settings.limits == ["a": 1, "b": 2])
        let top = try TOMLDecoder().decode([String: [Int]].self, from: "x = [1]\ny = []")
        #expect(top == ["x": [1], "y": []])
        let badLevel = decodingError(Settings.self, "levels = ['debug', 'loud']\nratio = 1\nlimits = {}")
        #expect(badLevel?.codingPath == "levels[1]")
        #expect(badLevel?.line == 1)
    }
}

import ElaConfig
import ElaTestSupport
import Testing

/// The shipped agent.toml, every board file and every plugin manifest, mutated as a hand edit (or a half-written
/// file) might leave them: each parses or fails with a `ConfigError` that names where, never traps.
@Suite(.ownThread) struct ConfigMutationTests {
    static let tokens = [
        "=", "\"", "'''", "[", "]]", "[[", "{", "}", ",", "#", "\n", "=\n", "9223372036854775808", "-1", "0x", "1e999", "inf", "nan",
        "1979-05-27T07:32:00Z", "true", "\\u0000", "\\", "enable = [", "sandbox = ", "line = ", "chip = ",
    ]

    enum Kind: CaseIterable { case agent, board, manifest }

    @Test(arguments: Kind.allCases)
    func mutatedFilesParseOrFailWithAnError(_ kind: Kind) throws {
        let paths: [String]
        switch kind {
        case .agent: paths = ["Packaging/agent.toml"]
        case .board: paths = ["sim", "raspberry-pi-4b", "raspberry-pi-5", "beaglebone-black", "qemu-gpio-sim"].map { "Boards/\($0).toml" }
        case .manifest: paths = ["carrier", "gpio", "mqtt", "sensors"].map { "Plugins/\($0)/plugin.toml" }
        }
        let seeds = try paths.map { try #require(TestData.read(TestData.repoRoot + "/" + $0), "\($0)") }
        func parse(_ bytes: [UInt8]) throws(ConfigError) {
            let text = String(decoding: bytes, as: UTF8.self)
            switch kind {
            case .agent: _ = try AgentConfig.parse(text)
            case .board: _ = try BoardDescription.parse(text, fileName: "board.toml")
            case .manifest: _ = try PluginManifest.parse(text)
            }
        }
        for seed in seeds { try parse(seed) }
        var mutator = ByteMutator(seed: 11, tokens: Self.tokens)
        var accepted = 0, rejected = 0
        for round in 0..<ByteMutator.rounds(default: 1500) {
            do {
                try parse(mutator.mutate(seeds[round % seeds.count], splicing: seeds))
                accepted += 1
            } catch {
                rejected += 1
                #expect(!error.message.isEmpty && !error.description.isEmpty)
            }
        }
        #expect(accepted > 20 && rejected > 100, "\(accepted) accepted, \(rejected) rejected")
    }
}

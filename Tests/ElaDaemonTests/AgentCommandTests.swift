import ArgumentParser
import ElaDaemon
import Testing

@Suite struct AgentCommandTests {
    @Test func parsesTheDocumentedFlags() throws {
        _ = try AgentCommand.parse(["--config", "/x.toml", "--state-dir", "/s", "--runtime-dir", "/r", "--board", "sim", "--foreground"])
        _ = try AgentCommand.parse([])
    }

    @Test func rejectsUnknownFlags() {
        #expect(throws: (any Error).self) { try AgentCommand.parse(["--bogus"]) }
        #expect(throws: (any Error).self) { try AgentCommand.parse(["--state-dir"]) }
    }
}

public import ArgumentParser
import ElaConfig

/// `ela-agent`: the Elastos Device Agent daemon.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ela-agent",
        abstract: "The Elastos Device Agent daemon: device DID, control socket for elactl.",
        discussion: """
            The agent never forks: run it under systemd (the packaged unit) or in a terminal. SIGTERM or Ctrl-C stops it cleanly.
            """,
        version: AgentInfo.version
    )

    @Option(name: .long, help: "Configuration file (a missing default file means built-in defaults).")
    var config: String = "/etc/ela-agent/agent.toml"

    @Option(name: .long, help: "State directory: keystore, database (overrides agent.state_dir).")
    var stateDir: String?

    @Option(name: .long, help: "Runtime directory for control.sock (overrides agent.runtime_dir).")
    var runtimeDir: String?

    @Option(name: .long, help: "Board id, e.g. sim, raspberry-pi-4b (overrides agent.board).")
    var board: String?

    @Flag(name: .long, help: "Log for a terminal and print a start-up banner (otherwise log for the journal).")
    var foreground = false

    public init() {}

    public func run() async throws {
        let options = AgentRuntime.Options(
            configPath: config, configIsExplicit: wasConfigGiven(), stateDir: stateDir.map(absolute),
            runtimeDir: runtimeDir.map(absolute), board: board, foreground: foreground)
        do {
            try await AgentRuntime(options: options).run()
        } catch let e as AgentStartupError {
            printToStderr("ela-agent: \(e.message)")
            throw ExitCode(e.exitCode)
        }
    }

    private func wasConfigGiven() -> Bool {
        CommandLine.arguments.contains { $0 == "--config" || $0.hasPrefix("--config=") }
    }
}

extension AgentCommand {
    /// Entry point for the executable (keeps ArgumentParser out of the @main target).
    public static func runMain() async { await main() }
}

public enum AgentInfo {
    public static let version = AgentVersion.string
}

#if canImport(Glibc)
import Glibc
#endif
public import ArgumentParser
import ElaConfig

/// `elactl`: configure and inspect the Elastos Device Agent, and work with DIDs offline.
public struct Elactl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "elactl",
        abstract: "Control the Elastos Device Agent and work with Elastos DIDs.",
        version: AgentVersion.string,
        subcommands: [
            Status.self, IdentityCommand.self, DIDCommand.self, SPVCommand.self, PeerCommand.self, PluginCommand.self,
            EventsCommand.self, BoardCommand.self, CallCommand.self, GrantCommand.self, OwnerCommand.self, CredentialCommand.self,
            AuditCommand.self,
            MQTTCommand.self, CarrierCommand.self, RemoteCommand.self, ConfigCommand.self,
        ]
    )

    public init() {}
}

/// Options for commands that talk to the running agent.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "Control socket of the agent (default: $ELA_AGENT_SOCKET or /run/ela-agent/control.sock).")
    var socket: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false
}

extension Elactl {
    /// Entry point for the `elactl` executable (keeps ArgumentParser out of the @main target).
    public static func runMain() {
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do { try command.run() } catch let error as ValidationError {
            // A value checked while running (JSON params, a date, a DID): show the usage of the command that was run,
            // as a parse error does, rather than elactl's own.
            printError("Error: \(error.message)\nUsage: \(usageString(for: type(of: command)))\n  (--help for more)")
            Glibc.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}

import ArgumentParser
import ElaConfig
import ElaDeviceIdentity
import ElaFileSystem
import ElaIdentity
import ElaJSON
import ElaStorage

#if canImport(Glibc)
import Glibc  // time()
#endif

/// Options of commands that work on the agent's state directory directly (the agent must be stopped).
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's configuration file.")
    var config: String = AgentConfig.defaultPath

    @Option(name: .long, help: "The agent's state directory (overrides agent.state_dir).")
    var stateDir: String?

    /// The configuration as the agent would see it; a missing default file means defaults.
    func load() throws -> AgentConfig {
        var cfg = AgentConfig()
        let explicit = CommandLine.arguments.contains { $0 == "--config" || $0.hasPrefix("--config=") }
        if explicit || FileSystem.exists(config) {
            let text: String
            do { text = try FileSystem.readText(config) } catch {
                printError("elactl: \(error)")
                throw ExitCode(2)
            }
            do { cfg = try AgentConfig.parse(text, fileName: config) } catch {
                printError("elactl: invalid configuration: \(error)")
                throw ExitCode(2)
            }
        }
        if let stateDir { cfg.stateDir = stateDir }
        return cfg
    }
}

/// Opens the state directory; the agent must not be running (it holds the lock).
func openDeviceState(_ options: StateOptions, create: Bool) throws -> DeviceState {
    let config = try options.load()
    do { return try DeviceState(config: config, create: create) } catch {
        printError("elactl: \(error)")
        throw ExitCode(1)
    }
}

extension IdentityCommand {
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the words that restore the device identity (run as root with the agent stopped).",
            discussion: "Anyone with these words can act as this device: write them down and keep them offline."
        )

        @OptionGroup var state: StateOptions

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let device = try openDeviceState(state, create: false)
            defer { device.close() }
            let backup: IdentityBackup
            let did: String
            do {
                backup = try device.identity.backup()
                did = try device.store.deviceIdentity()?.did ?? "-"
            } catch {
                printError("elactl: cannot read the identity backup: \(error)")
                throw ExitCode(1)
            }
            if json {
                print(
                    JSONWriter.pretty(
                        .object(
                            JSONObject([
                                ("did", .string(did)), ("mnemonic", .string(backup.mnemonic)),
                                ("passphrase", .string(backup.passphrase)), ("index", .number(JSONNumber(Int64(backup.index)))),
                            ]))))
                return
            }
            print("device DID: \(did)")
            print("mnemonic:   \(backup.mnemonic)")
            if !backup.passphrase.isEmpty { print("passphrase: \(backup.passphrase)") }
            print("index:      \(backup.index)")
            printError("elactl: anyone with these words can act as this device; keep them offline")
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the device identity the one derived from a mnemonic (run as root with the agent stopped).",
            discussion: "Derivation path m/44'/0'/0'/0/<index> on P-256, as the Elastos DID SDKs and wallets use."
        )

        @OptionGroup var state: StateOptions

        @Option(name: .long, help: "The mnemonic words, in quotes.")
        var mnemonic: String

        @Option(name: .long, help: "The mnemonic passphrase, if one was used.")
        var passphrase: String = ""

        @Option(name: .long, help: "The identity index.")
        var index: UInt32 = 0

        @Flag(name: .long, help: "Replace an existing, different device identity.")
        var force = false

        func run() throws {
            let device = try openDeviceState(state, create: true)
            defer { device.close() }
            let now = DIDDate(secondsSince1970: Int64(time(nil)))
            do {
                let restored = try device.identity.restore(
                    IdentityBackup(mnemonic: mnemonic, passphrase: passphrase, index: index), now: now, replacing: force)
                print("restored device DID \(restored.did)")
            } catch {
                printError("elactl: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

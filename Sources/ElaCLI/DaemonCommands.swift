import ArgumentParser
import ElaControl
import ElaJSON

/// A reply member as display text ("-" when absent or null): `let s = fieldText(reply); print(s("did"))`.
func fieldText(_ reply: JSONValue) -> (String) -> String {
    { key in
        switch reply[key] {
        case .string(let v)?: v
        case .number(let n)?: n.text
        case .bool(let b)?: String(b)
        default: "-"
        }
    }
}

/// Calls the agent and exits 3 when it can't be reached (distinct from "the answer is no").
func callAgent(_ options: DaemonOptions, _ method: String, params: JSONObject = JSONObject()) throws -> JSONValue {
    let client = ControlClient(socketPath: ControlClient.defaultSocketPath(explicit: options.socket))
    do {
        return try client.call(method, params: params)
    } catch let e as ControlError {
        // The agent's message says what was wrong; the control method's name would only confuse.
        printError("elactl: \(e.message)")
        throw ExitCode(1)
    } catch {
        printError("elactl: \(error)")
        throw ExitCode(3)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the agent's status.")

    @OptionGroup var options: DaemonOptions

    func run() throws {
        let r = try callAgent(options, "status")
        if options.json {
            print(JSONWriter.pretty(r))
            return
        }
        let s = fieldText(r)
        print("ela-agent \(s("version")) running (pid \(s("pid")), up \(s("uptimeSeconds")) s)")
        print("DID:        \(s("did"))")
        print("board:      \(s("board")) (\(s("boardName")))")
        print("state dir:  \(s("stateDir"))\(freeText(r["health"]?["stateDirFreeBytes"]))")
        print("config:     \(s("config"))")
        guard let health = r["health"] else { return }
        let h = fieldText(health)
        let audit = health["audit"]?.stringValue ?? "?"
        print("audit log:  \(audit == "ok" ? "ok" : "FAILING (gated calls are denied): \(audit)")")
        if let clock = health["clock"]?.stringValue, clock != "ok" { print("clock:      \(clock)") }
        if let ignored = health["configIgnored"]?.stringValue {
            print("settings:   IGNORED at start (agent.toml alone applies; see elactl config show): \(ignored)")
        }
        let failed = health["pluginsFailed"]?.arrayValue?.compactMap(\.stringValue) ?? []
        print("plugins:    \(h("pluginsRunning")) running\(failed.isEmpty ? "" : ", FAILED: \(failed.joined(separator: ", ")) (elactl plugin logs <name>)")")
        print("carrier:    \(h("carrier"))")
        print("chain:      \(h("spv"))\(health["spvError"]?.stringValue.map { " (last error: \($0))" } ?? "")")
    }

    /// ", 1.2 GB free" (a warning under 100 MB: the audit log and the chain need room).
    func freeText(_ bytes: JSONValue?) -> String {
        guard let bytes = bytes?.numberValue?.int64Value else { return "" }
        let text = bytes >= 1 << 30 ? "\(bytes / (1 << 20) / 1024).\(bytes / (1 << 20) % 1024 * 10 / 1024) GB" : "\(bytes / (1 << 20)) MB"
        return bytes < 100 << 20 ? ", LOW ON SPACE: \(text) free" : ", \(text) free"
    }
}

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity", abstract: "The device identity.", subcommands: [Show.self, Create.self, PublishRequest.self, IssueAccess.self, Backup.self, Restore.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the device DID and its document.")

        @OptionGroup var options: DaemonOptions

        @Flag(name: .long, help: "Also print the normalized DID document.")
        var document = false

        func run() throws {
            let r = try callAgent(options, "identity.show")
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            print("DID:         \(r["did"]?.stringValue ?? "-")")
            print("public key:  \(r["publicKeyBase58"]?.stringValue ?? "-")")
            print("created:     \(r["created"]?.stringValue ?? "-")")
            print("expires:     \(r["expires"]?.stringValue ?? "-")")
            print("protection:  \(r["protection"]?.stringValue ?? "-")")
            if document, let d = r["document"] { print(JSONWriter.pretty(d)) }
        }
    }
}

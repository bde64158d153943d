import ArgumentParser
import ElaJSON

/// `elactl config show|set|unset`: change settings without editing agent.toml (a Debian conffile); the agent keeps
/// them in its database and applies them at its next start.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Settings over agent.toml, kept by the agent, applied at its next start.",
        subcommands: [Show.self, Set.self, Unset.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The config file and the settings made here.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "config.show")
            if options.json { return print(JSONWriter.pretty(r)) }
            print("file: \(r["file"]?.stringValue ?? "-")")
            if let ignored = r["ignoredAtStart"]?.stringValue {
                print("IGNORED at this start (agent.toml alone applies; unset or fix the setting named): \(ignored)")
            }
            let overrides = r["overrides"]?.arrayValue ?? []
            if overrides.isEmpty { print("no settings made with elactl config set") }
            for o in overrides { print("\(o["key"]?.stringValue ?? "?") = \(o["value"]?.stringValue ?? "?")") }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set section.key to a value (checked now, applied at the next start).",
            discussion: """
                The value is TOML (3, true, "text", ["a", "b"]); a bare word is taken as text. Sections: spv, plugins, \
                audit, carrier, mqtt (the rest is read before the agent's state opens: edit agent.toml). Every change is \
                in the audit log. Example: elactl config set audit.max_rows 100000
                """)
        @OptionGroup var options: DaemonOptions
        @Argument(help: "section.key, e.g. spv.confirmations.") var key: String
        @Argument(help: "The value.") var value: String

        func run() throws {
            let r = try callAgent(options, "config.set", params: ["key": .string(key), "value": .string(value)])
            if options.json { return print(JSONWriter.pretty(r)) }
            print("\(key) = \(r["value"]?.stringValue ?? value); applies at \(r["appliesAt"]?.stringValue ?? "the next start")")
        }
    }

    struct Unset: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a setting made here: agent.toml's value counts again at the next start.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "section.key") var key: String

        func run() throws {
            let r = try callAgent(options, "config.unset", params: ["key": .string(key)])
            if options.json { return print(JSONWriter.pretty(r)) }
            print("\(key): agent.toml's value again from \(r["appliesAt"]?.stringValue ?? "the next start")")
        }
    }
}

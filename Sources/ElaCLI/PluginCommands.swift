#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ElaConfig
import ElaControl
import ElaJSON

struct PluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin", abstract: "Inspect and control the agent's plugins.",
        subcommands: [List.self, Info.self, Start.self, Stop.self, Restart.self, Logs.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List plugins: state, sandbox level and warnings.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "plugin.list")
            if options.json { return print(JSONWriter.pretty(r)) }
            let plugins = r["plugins"]?.arrayValue ?? []
            if plugins.isEmpty { print("no plugins found") }
            for p in plugins {
                let s = fieldText(p)
                print("\(s("name")) \(s("version")): \(s("state"))\(p["pid"]?.numberValue.map { " (pid \($0.text))" } ?? "")  sandbox: \(s("sandbox"))")
                if let failure = p["failure"]?.stringValue { print("  failed: \(failure)") }
                for w in p["warnings"]?.arrayValue ?? [] { print("  warning: \(w.stringValue ?? "")") }
            }
            for problem in r["problems"]?.arrayValue ?? [] {
                print("not usable: \(problem["directory"]?.stringValue ?? "-"): \(problem["message"]?.stringValue ?? "-")")
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything about one plugin: methods, sandbox layers, counters, recent log.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Plugin name, e.g. gpio.") var name: String

        func run() throws {
            let r = try callAgent(options, "plugin.info", params: ["name": .string(name)])
            if options.json { return print(JSONWriter.pretty(r)) }
            let s = fieldText(r)
            print("\(s("name")) \(s("version")): \(s("state"))  pid \(s("pid"))  uid \(s("uid"))  restarts \(s("restarts"))")
            print("executable:  \(s("executable"))")
            print("state dir:   \(s("stateDirectory"))")
            if let failure = r["failure"]?.stringValue { print("failed:      \(failure)") }
            if let cause = r["lastCause"]?.stringValue { print("last stop:   \(cause)") }
            print("calls \(s("calls")), events forwarded \(s("eventsForwarded")), dropped \(s("eventsDropped")) (host) + \(s("pluginDroppedEvents")) (plugin), protocol violations \(s("violations")), own requests refused as busy \(s("requestsRefused")), rss \(s("rssKB")) KB")
            print("methods:")
            for m in r["methods"]?.arrayValue ?? [] { print("  \(m["name"]?.stringValue ?? "-")  needs \(m["capability"]?.stringValue ?? "-")") }
            for e in r["events"]?.arrayValue ?? [] { print("event \(e["name"]?.stringValue ?? "-")  subscribers need \(e["capability"]?.stringValue ?? "-")") }
            print("sandbox: \(s("sandbox"))")
            for l in r["layers"]?.arrayValue ?? [] {
                print("  \(l["layer"]?.stringValue ?? "-"): \(l["state"]?.stringValue ?? "-")  \(l["detail"]?.stringValue ?? "")")
            }
            for w in r["warnings"]?.arrayValue ?? [] { print("warning: \(w.stringValue ?? "")") }
            let logs = r["logs"]?.arrayValue ?? []
            if !logs.isEmpty { print("recent log:") }
            for l in logs { print("  \(l["text"]?.stringValue ?? "")") }
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a plugin (also clears a failed state).")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Plugin name.") var name: String
        func run() throws { try control(options, "plugin.start", name) }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a plugin (close its socket, SIGTERM, then SIGKILL).")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Plugin name.") var name: String
        func run() throws { try control(options, "plugin.stop", name) }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop, then start a plugin.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Plugin name.") var name: String
        func run() throws { try control(options, "plugin.restart", name) }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A plugin's recent stderr lines and the agent's notes about it.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Plugin name.") var name: String
        @Option(name: .shortAndLong, parsing: .unconditional, help: "How many lines (1...1000).") var lines: Int = 100

        func validate() throws {
            guard (1...1000).contains(lines) else { throw ValidationError("--lines must be 1...1000") }
        }

        func run() throws {
            let r = try callAgent(options, "plugin.logs", params: ["name": .string(name), "limit": .number(JSONNumber(lines))])
            if options.json { return print(JSONWriter.pretty(r)) }
            for l in r.arrayValue ?? [] { print(l["text"]?.stringValue ?? "") }
        }
    }

    static func control(_ options: DaemonOptions, _ method: String, _ name: String) throws {
        let r = try callAgent(options, method, params: ["name": .string(name)])
        if options.json { return print(JSONWriter.pretty(r)) }
        let s = fieldText(r)
        print("\(s("name")): \(s("state"))\(r["failure"]?.stringValue.map { " (\($0))" } ?? "")")
    }
}

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Print plugin events as they arrive (Ctrl-C stops).",
        discussion: "Patterns are event names or prefixes like sensors.* (default: all). Each line is one JSON event.")

    @OptionGroup var options: DaemonOptions
    @Argument(help: "Event names or patterns.") var patterns: [String] = []
    @Option(name: .long, parsing: .unconditional, help: "Stop after this many events.") var count: Int?
    @Option(name: .customLong("as"), help: "Subscribe as this identity (signed, gated: needs the event's capability, e.g. sensors.subscribe); takes one event name.")
    var identity: String?
    @Option(name: .long, help: "A DeviceAccessCredential (JSON file) from the device owner, presented with --as.")
    var credential: String?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be 1 or more") }
        guard identity != nil || credential == nil else { throw ValidationError("--credential needs --as (a credential is presented by a signed caller)") }
        if identity != nil {
            guard patterns.count == 1, let event = patterns.first, !event.contains("*") else {
                throw ValidationError("--as needs exactly one event name, e.g. sensors.reading")
            }
        }
    }

    func run() throws {
        var request: JSONObject = ["patterns": .array((patterns.isEmpty ? ["*"] : patterns).map(JSONValue.string))]
        if let identity, let event = patterns.first {
            request = ["request": .string(try signedRequest(identity: identity, method: event, params: [:], credential: credential))]
        }
        let sub = try callAgent(options, "events.subscribe", params: request)
        guard let id = sub["subscription"] else { throw ExitCode(1) }
        var seen = 0
        var reportedDrops = 0
        while count.map({ seen < $0 }) ?? true {
            let r = try callAgent(options, "events.next", params: ["subscription": id, "max": 100, "waitMs": 5000])
            for e in r["events"]?.arrayValue ?? [] {
                print(JSONWriter.compact(e))
                seen += 1
                if let count, seen >= count { break }
            }
            let dropped = Int(clamping: r["dropped"]?.numberValue?.int64Value ?? 0)
            if dropped > reportedDrops {
                printError("elactl: \(dropped - reportedDrops) events dropped (this terminal is slower than the events)")
                reportedDrops = dropped
            }
            fflush(nil)  // all streams: a pipe reader sees each batch at once
        }
        _ = try? callAgent(options, "events.unsubscribe", params: ["subscription": id])
    }
}

struct BoardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board", abstract: "Board descriptions (offline: reads the board files).", subcommands: [List.self, Show.self])

    struct BoardOptions: ParsableArguments {
        @Option(name: .long, help: "Folder of board files (default: $ELA_BOARDS_DIR, /usr/share/ela-agent/boards, or the source tree's Boards/).")
        var dir: String?
        @Flag(name: .long, help: "Print JSON instead of text.") var json = false

        func catalog() throws -> BoardCatalog {
            if let dir { return BoardCatalog(directory: dir) }
            guard let c = BoardCatalog.locate() else {
                printError("elactl: no board files found; pass --dir or set ELA_BOARDS_DIR")
                throw ExitCode(2)
            }
            return c
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the known boards.")
        @OptionGroup var options: BoardOptions

        func run() throws {
            let catalog = try options.catalog()
            var out: [JSONValue] = []
            for id in catalog.ids().sorted() {
                do {
                    let b = try catalog.load(id)
                    out.append(.object(["id": .string(b.id), "name": .string(b.name), "pins": .number(JSONNumber(b.pins.count))]))
                    if !options.json { print("\(b.id)\t\(b.name) (\(b.pins.count) pins)") }
                } catch {
                    out.append(.object(["id": .string(id), "error": .string(error.description)]))
                    if !options.json { print("\(id)\tINVALID: \(error)") }
                }
            }
            if options.json { print(JSONWriter.pretty(.array(out))) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a board's chips and pin map.")
        @OptionGroup var options: BoardOptions
        @Argument(help: "Board id, e.g. raspberry-pi-4b.") var id: String

        func run() throws {
            let b: BoardDescription
            do { b = try options.catalog().load(id) } catch let e as ConfigError {
                printError("elactl: \(e)")
                throw ExitCode(2)
            }
            let pins = b.pins.map { JSONValue.object(["name": .string($0.name), "chip": .string($0.chip), "line": .number(JSONNumber($0.line))]) }
            if options.json {
                return print(
                    JSONWriter.pretty(
                        .object([
                            "id": .string(b.id), "name": .string(b.name), "description": .string(b.description),
                            "defaultPlugins": .array(b.defaultPlugins.map(JSONValue.string)),
                            "chips": .array(
                                b.chips.map {
                                    .object([
                                        "label": .string($0.label), "lines": .number(JSONNumber($0.lines)),
                                        "devices": .array($0.devices.map(JSONValue.string)),
                                    ])
                                }),
                            "gpioDevices": .array(b.gpioDevices.map(JSONValue.string)),
                            "pins": .array(pins),
                        ])))
            }
            print("\(b.id): \(b.name)")
            if !b.description.isEmpty { print(b.description) }
            print("default plugins: \(b.defaultPlugins.joined(separator: ", "))")
            // The devices are what the GPIO plugin's sandbox is granted (the board-in-a-box guest checks them).
            for c in b.chips { print("chip \(c.label): \(c.lines) lines" + (c.devices.isEmpty ? "" : ", devices " + c.devices.joined(separator: " "))) }
            // In chip and line order (names sort GPIO10 before GPIO2).
            for p in b.pins.sorted(by: { ($0.chip, $0.line) < ($1.chip, $1.line) }) { print("  \(p.name)\t\(p.chip) line \(p.line)") }
        }
    }
}

import ArgumentParser
import ElaJSON

/// `elactl mqtt status` and `elactl mqtt envelope`: the MQTT bridge plugin.
struct MQTTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt", abstract: "The MQTT bridge: connection, outbox, signed command envelopes.",
        subcommands: [Status.self, Envelope.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connection state, outbox depth, oldest pending age, sent, dropped and duplicate counts.",
            discussion: "Calls mqtt.status through the gate as a local admin (audited under your uid).")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "call", params: ["method": "mqtt.status", "params": .object(JSONObject())])
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            func n(_ v: JSONValue?) -> String { v?.numberValue?.text ?? v?.stringValue ?? "-" }
            let outbox = r["outbox"]
            let age = outbox?["oldestPendingAgeMs"]?.numberValue?.int64Value.map { "\($0 / 1000) s" } ?? "-"
            print("mqtt: \(r["state"]?.stringValue ?? "?") \(r["broker"]?.stringValue ?? "") (MQTT \(r["protocol"]?.stringValue ?? "?"))")
            if let e = r["lastError"]?.stringValue { print("  last error: \(e)") }
            print("  outbox: \(n(outbox?["depth"])) pending (\(n(outbox?["bytes"])) bytes, \(n(outbox?["inFlight"])) in flight), oldest \(age)")
            print("  sent \(n(r["sent"])), dropped \(n(r["dropped"])) (\(outbox?["full"]?.stringValue ?? "?")), duplicates \(n(r["duplicates"]))")
            let c = r["commands"]
            print("  commands: \(n(c?["relayed"])) relayed, \(n(c?["refused"])) refused by the gate, \(n(c?["rejected"])) malformed")
            if let t = r["topics"] {
                print("  topics: \(t["events"]?.stringValue ?? ""), \(t["commands"]?.stringValue ?? ""), \(t["status"]?.stringValue ?? "")")
            }
        }
    }

    /// Prints the payload to publish on `<prefix>/<did-id>/cmd/<method>`.
    struct Envelope: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a signed MQTT command envelope to publish on <prefix>/<did-id>/cmd/<method>.",
            discussion: """
                Example: mosquitto_pub -t ela/<did-id>/cmd/gpio.read -m "$(elactl mqtt envelope gpio.read '{"pin":"LED0"}' --as DIR)"; \
                the reply arrives on ela/<did-id>/reply/<id>.
                """)
        @Argument(help: "Method, e.g. gpio.read.") var method: String
        @Argument(help: "Params as a JSON object.") var params: String = "{}"
        @Option(name: .customLong("as"), help: "Identity folder that signs the request.") var identity: String
        @Option(name: .long, help: "Reply id (names the reply topic); random by default.") var id: String?

        func run() throws {
            guard let p = (try? JSONParser.parse(params))?.objectValue else { throw ValidationError("params must be a JSON object") }
            let text = try signedRequest(identity: identity, method: method, params: p, credential: nil)
            var r = SystemRandomNumberGenerator()
            let replyID = id ?? "r" + String(r.next() as UInt64, radix: 16)
            print(JSONWriter.compact(.object(JSONObject([("id", .string(replyID)), ("request", .string(text))]))))
        }
    }
}

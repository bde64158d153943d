#if canImport(Glibc)
import Glibc
#endif
import ElaControl
import ElaJSON
import ElaTestSupport
import Testing

/// The sim board as a user meets it: the agent starts the GPIO and sensors plugins sandboxed; `elactl` drives GPIO
/// through the gate, watches edges and subscribes to sensor readings, as admin and as a granted or ungranted DID.
@Suite(.ownThread, .serialized) struct SimBoardPluginTests {
    let elactl = ChildProcess.product("elactl")

    func ctl(_ socket: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(elactl, args + ["--socket", socket])
    }

    @Test func gpioAndSensorsThroughTheGate() throws {
        let dir = TemporaryDirectory(prefix: "ela-sim")
        defer { dir.remove() }
        let socket = dir.path + "/run/control.sock"
        let agent = try ChildProcess(
            ChildProcess.product("ela-agent"), ["--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run"],
            outputDirectory: dir.path)
        try #require(ChildProcess.waitUntil(timeoutSeconds: 30) { agent.stdout.contains("ela-agent ready") }, "\(agent.stderr)")
        let up = ChildProcess.waitUntil(timeoutSeconds: 30) {
            let out = (try? ctl(socket, ["plugin", "list"]).stdout) ?? ""
            return out.contains("gpio 0.1.0: running") && out.contains("sensors 0.1.0: running")
        }
        try #require(up, "plugins did not start: \(agent.stderr)")
        let list = try ctl(socket, ["plugin", "list"])
        if getuid() == 0 { #expect(list.stdout.contains("sandbox: 13/13 active"), "\(list.stdout)") }

        // Admin: write and read back; info lists the board's pins.
        #expect(try ctl(socket, ["call", "gpio.write", #"{"pin":"LED0","value":1}"#]).status == 0)
        #expect(try ctl(socket, ["call", "gpio.read", #"{"pin":"LED0"}"#]).stdout.contains(#""value":1"#))
        let info = try ctl(socket, ["call", "gpio.info"])
        #expect(info.stdout.contains("BUTTON0") && info.stdout.contains("ela-sim-gpio"))
        let bad = try ctl(socket, ["call", "gpio.read", #"{"pin":"NOPE"}"#])
        #expect(bad.status == 1 && bad.stderr.contains("NOPE"))
        // A method no plugin declares: the one most likely meant, else the methods there are.
        let misspelt = try ctl(socket, ["call", "gpio.raed", #"{"pin":"LED0"}"#])
        #expect(misspelt.status == 1 && misspelt.stderr.contains("denied: unknown method (did you mean 'gpio.read'?) (audit #"), "\(misspelt.stderr)")
        let unknownMethod = try ctl(socket, ["call", "motor.spin"])
        #expect(unknownMethod.status == 1 && unknownMethod.stderr.contains("unknown method (known methods: ") && unknownMethod.stderr.contains(" gpio.read, "), "\(unknownMethod.stderr)")
        // A long poll (events.next) ends with its client: closed after 0.x s, the agent's wait does not hold on to
        // its 30 s timer.
        let client = ControlClient(socketPath: socket)
        let subscription = try #require(try client.call("events.subscribe", params: ["patterns": ["gpio.edge"]])["subscription"])
        func waiting() -> Int64? {
            let list = try? client.call("events.list")
            let entry = list?["subscriptions"]?.arrayValue?.first { $0["id"] == subscription }
            return entry?["waiting"]?.numberValue?.int64Value
        }
        let poller = try ControlClient.connect(socketPath: socket)
        let poll = ControlRequest(id: 7, method: "events.next", params: ["subscription": subscription, "waitMs": 30000]).encoded()
        #expect(poll.withUnsafeBytes { write(poller, $0.baseAddress, $0.count) } == poll.count)
        #expect(ChildProcess.waitUntil(timeoutSeconds: 10) { waiting() == 1 }, "the poll is waiting")
        close(poller)
        #expect(ChildProcess.waitUntil(timeoutSeconds: 10) { waiting() == 0 }, "the wait ended with its client")
        _ = try client.call("events.unsubscribe", params: ["subscription": subscription])

        // The MQTT bridge is installed but not enabled on the sim board: the answer says how to turn it on.
        let bridge = try ctl(socket, ["mqtt", "status"])
        #expect(bridge.status == 1 && bridge.stderr.contains("plugin mqtt is not enabled") && bridge.stderr.contains("[plugins] enable"), "\(bridge.stderr)")

        // A DID with a constrained grant.
        let alice = dir.path + "/alice"
        let created = try ChildProcess.run(elactl, ["identity", "create", "--dir", alice, "--json"])
        let did = try #require(try JSONParser.parse(created.stdout)["did"]?.stringValue)
        #expect(try ctl(socket, ["call", "gpio.write", #"{"pin":"LED1","value":1}"#, "--as", alice]).status == 1)
        let granted = try ctl(socket, ["grant", "add", did, "gpio.write", "--constraint", "pin=LED1"])
        #expect(granted.status == 0 && granted.stdout.contains("may gpio.write where pin=LED1"), "\(granted.stdout)")
        // A capability nothing installed needs is stored but flagged (a typo, most likely).
        let typo = try ctl(socket, ["grant", "add", did, "gpio.wrte"])
        #expect(
            typo.status == 0 && typo.stderr.contains("warning: no installed plugin's method or event needs a capability matching gpio.wrte (did you mean 'gpio.write'?)"),
            "\(typo.stderr)")
        let far = try ctl(socket, ["grant", "add", did, "motor.*", "--json"])
        #expect(far.status == 0 && far.stderr.contains("matching motor.* (known capabilities: ") && far.stderr.contains(" gpio.write, "), "\(far.stderr)")
        let farID = try #require(try JSONParser.parse(far.stdout)["id"]?.numberValue?.text)
        #expect(try ctl(socket, ["grant", "revoke", farID]).status == 0)
        #expect(try ctl(socket, ["grant", "list"]).stdout.contains("gpio.wrte"))
        let allowed = try ctl(socket, ["call", "gpio.write", #"{"pin":"LED1","value":1}"#, "--as", alice])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(try ctl(socket, ["call", "gpio.write", #"{"pin":"RELAY0","value":1}"#, "--as", alice]).status == 1)
        #expect(try ctl(socket, ["call", "gpio.read", #"{"pin":"LED1"}"#]).stdout.contains(#""value":1"#))

        // Edges: watch BUTTON0, toggle its simulated pull, two events arrive with timestamps.
        #expect(try ctl(socket, ["call", "gpio.watch", #"{"pin":"BUTTON0","edge":"both"}"#]).status == 0)
        let held = try ctl(socket, ["call", "gpio.write", #"{"pin":"BUTTON0","value":1}"#])
        #expect(held.status == 1 && held.stderr.contains("held by watch"), "\(held.stderr)")
        let watcher = try ChildProcess(elactl, ["events", "gpio.edge", "--count", "2", "--socket", socket], outputDirectory: dir.path)
        usleep(500_000)
        #expect(try ctl(socket, ["call", "gpio.simulate", #"{"pin":"BUTTON0","pull":"up"}"#]).status == 0)
        #expect(try ctl(socket, ["call", "gpio.simulate", #"{"pin":"BUTTON0","pull":"down"}"#]).status == 0)
        #expect(try watcher.wait(timeoutSeconds: 15) == 0)
        let edges = watcher.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        #expect(edges.compactMap { $0["params"]?["edge"]?.stringValue } == ["rising", "falling"])
        #expect(edges.allSatisfy { $0["params"]?["timestamp_ns"]?.numberValue != nil })

        // Sensor readings: refused without the subscribe capability, delivered with it.
        let refused = try ctl(socket, ["events", "sensors.reading", "--as", alice, "--count", "1"])
        #expect(refused.status == 1 && refused.stderr.contains("no grant for sensors.subscribe"), "\(refused.stderr)")
        let unknown = try ctl(socket, ["events", "sensors.raining", "--as", alice, "--count", "1"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown event (did you mean 'sensors.reading'?)"), "\(unknown.stderr)")
        // An owner's credential covers a subscription as a grant does.
        let owner = dir.path + "/owner"
        #expect(try ChildProcess.run(elactl, ["identity", "create", "--dir", owner]).status == 0)
        #expect(try ctl(socket, ["owner", "set", owner + "/document.json"]).status == 0)
        let issued = try ChildProcess.run(
            elactl, ["identity", "issue-access", "--dir", owner, "--to", did, "--capability", "sensors.subscribe", "--days", "1"])
        let credential = dir.write("alice-access.json", issued.stdout)
        let byCredential = try ctl(socket, ["events", "sensors.reading", "--as", alice, "--credential", credential, "--count", "1"])
        #expect(byCredential.status == 0 && byCredential.stdout.contains("sensors.reading"), "\(byCredential.stderr)")
        #expect(try ctl(socket, ["owner", "clear"]).status == 0)
        // The admin's follow of an event nobody declares is told so too, instead of waiting in silence.
        let unknownEvent = try ctl(socket, ["events", "sensor.reading", "--count", "1"])
        #expect(
            unknownEvent.status != 0 && unknownEvent.stderr.contains("no plugin declares an event matching sensor.reading (did you mean 'sensors.reading'?)"),
            "\(unknownEvent.stderr)")
        let unknownPattern = try ctl(socket, ["events", "motor.*", "--count", "1"])
        #expect(unknownPattern.status != 0 && unknownPattern.stderr.contains("(known events: gpio.edge, sensors.reading)"), "\(unknownPattern.stderr)")
        #expect(try ctl(socket, ["grant", "add", did, "sensors.subscribe"]).status == 0)
        let readings = try ctl(socket, ["events", "sensors.reading", "--as", alice, "--count", "3"])
        #expect(readings.status == 0)
        let values = readings.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0))["params"]?["unit"]?.stringValue }
        #expect(values.count == 3)
        // A live subscription lasts only while its grant does: revoked, the follower is told and stops.
        let following = try ChildProcess(
            elactl, ["events", "sensors.reading", "--as", alice, "--socket", socket], outputDirectory: dir.path)
        #expect(ChildProcess.waitUntil(timeoutSeconds: 15) { following.stdout.contains("sensors.reading") }, "\(following.stderr)")
        let grants = try JSONParser.parse(try ctl(socket, ["grant", "list", "--subject", did, "--json"]).stdout)
        let subscribeGrant = try #require(grants.arrayValue?.first { $0["capability"] == "sensors.subscribe" }?["id"]?.numberValue?.text)
        #expect(try ctl(socket, ["grant", "revoke", subscribeGrant]).status == 0)
        #expect(try following.wait(timeoutSeconds: 15) == 1)
        #expect(following.stderr.contains("subscription ended: grant \(subscribeGrant) (sensors.subscribe) no longer allows it"), "\(following.stderr)")

        // Restart keeps serving; every decision above is in a chain that verifies.
        #expect(try ctl(socket, ["plugin", "restart", "gpio"]).stdout.contains("gpio: running"))
        #expect(try ctl(socket, ["call", "gpio.info"]).status == 0)
        // Who restarted it is audited.
        let restarts = try ctl(socket, ["audit", "list", "--json"]).stdout
        #expect(restarts.contains("plugin.restart") && restarts.contains("plugin gpio: restart"), "\(restarts.suffix(2000))")
        let verify = try ctl(socket, ["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)")
        agent.signal(SIGTERM)
        #expect(try agent.wait(timeoutSeconds: 30) == 0)
    }
}

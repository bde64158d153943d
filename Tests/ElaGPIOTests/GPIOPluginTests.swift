#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaGPIO
import ElaJSON
import ElaPluginKit
import ElaPluginProtocol
import ElaTestSupport
import ElaPluginTestSupport
import Testing

/// The sim board's plugin configuration, as the host builds it from Boards/sim.toml.
let simConfig: JSONObject = {
    var pins = JSONObject()
    for (name, line) in SimBoard.pins {
        pins[name] = .object(JSONObject([("chip", .string(SimBoard.label)), ("line", .number(JSONNumber(line)))]))
    }
    return JSONObject([
        ("backend", "sim"), ("chips", [.object(JSONObject([("label", .string(SimBoard.label)), ("lines", 16)]))]), ("pins", .object(pins)),
    ])
}()

/// The plugin's methods through the real protocol, in this process.
@Suite struct GPIOPluginTests {
    @Test func theHandshakeOffersTheGPIOMethods() async throws {
        let (host, plugin) = try TestHost.start(GPIOPlugin.definition())
        let welcome = try await host.handshake(config: simConfig)
        #expect(welcome.name == "gpio")
        #expect(welcome.methods == GPIOPlugin.methods)
        #expect(welcome.events == ["gpio.edge"])
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func writeReadReleaseAndInfo() async throws {
        let (host, plugin) = try TestHost.start(GPIOPlugin.definition())
        try await host.handshake(config: simConfig)
        let write = try await host.call(2, "gpio.write", JSONObject([("pin", "LED0"), ("value", 1)]))
        #expect(write.result == .object(JSONObject([("pin", "LED0"), ("value", 1)])))
        #expect(try await host.call(3, "gpio.read", JSONObject([("pin", "LED0")])).result?["value"] == 1)
        let info = try #require(try await host.call(4, "gpio.info").result)
        #expect(info["backend"] == "sim")
        #expect(info["chips"] == [.object(JSONObject([("name", "sim-ela-sim-gpio"), ("label", "ela-sim-gpio"), ("lines", 16)]))])
        let led = try #require(info["pins"]?.arrayValue?.first)
        #expect(led == .object(JSONObject([("name", "LED0"), ("chip", "ela-sim-gpio"), ("line", 0), ("direction", "output"), ("heldBy", "output"), ("value", 1)])))
        #expect(try await host.call(5, "gpio.release", JSONObject([("pin", "LED0")])).result?["released"] == true)
        #expect(try await host.call(6, "gpio.release", JSONObject([("pin", "LED0")])).result?["released"] == false)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func watchEmitsEdgeEventsUntilUnwatched() async throws {
        let (host, plugin) = try TestHost.start(GPIOPlugin.definition())
        try await host.handshake(config: simConfig)
        let watch = try await host.call(2, "gpio.watch", JSONObject([("pin", "BUTTON0"), ("edge", "both")]))
        let id = try #require(watch.result?["watch"])
        let before = monotonicNanoseconds()
        host.send(.request(id: 3, method: "gpio.simulate", params: JSONObject([("pin", "BUTTON0"), ("pull", "up")])))
        // The edge may arrive before or after the answer to the simulate call.
        let (answer, early) = try await host.answer(to: 3)
        #expect(answer.result?["pull"] == "up")
        var edge: JSONObject?
        if case .notification(let method, let params)? = early.first {
            #expect(method == "gpio.edge")
            edge = params
        }
        while edge == nil {
            if case .notification(let method, let params) = try await host.receive() {
                #expect(method == "gpio.edge")
                edge = params
            }
        }
        let e = try #require(edge)
        #expect(e["pin"] == "BUTTON0")
        #expect(e["edge"] == "rising")
        #expect(e["value"] == 1)
        #expect(e["watch"] == id)
        let ts = try #require(e["timestamp_ns"]?.numberValue?.int64Value)
        #expect(ts >= before && ts <= monotonicNanoseconds())
        let held = try await host.call(4, "gpio.write", JSONObject([("pin", "BUTTON0"), ("value", 0)]))
        let idText = try #require(id.numberValue?.text)
        #expect(held.error == PluginProtocolError(.pluginError, "pin BUTTON0 is held by watch \(idText) (input)"))
        #expect(try await host.call(5, "gpio.unwatch", JSONObject([("watch", id), ("pin", "BUTTON0")])).result?["pin"] == "BUTTON0")
        #expect(try await host.call(6, "gpio.write", JSONObject([("pin", "BUTTON0"), ("value", 0)])).result != nil)
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func badParamsAreInvalidParamsAndNameWhatIsWrong() async throws {
        let (host, plugin) = try TestHost.start(GPIOPlugin.definition())
        try await host.handshake(config: simConfig)
        let cases: [(String, JSONObject, String)] = [
            ("gpio.read", JSONObject([("pin", "LED7")]), "unknown pin 'LED7'; valid pins: BUTTON0, BUTTON1, GPIO5, GPIO6, GPIO7, LED0, LED1, RELAY0"),
            ("gpio.read", JSONObject(), "gpio.read: missing \"pin\" (a string)"),
            ("gpio.write", JSONObject([("pin", "LED0"), ("value", 2)]), "gpio.write: \"value\" must be 0 or 1, found 2"),
            // Past Int32: on a 32-bit board this trapped the plugin.
            ("gpio.write", JSONObject([("pin", "LED0"), ("value", 4_294_967_297)]), "gpio.write: \"value\" must be 0 or 1, found 4294967297"),
            ("gpio.write", JSONObject([("pin", "LED0"), ("value", true)]), "gpio.write: \"value\" must be 0 or 1, found a boolean"),
            ("gpio.write", JSONObject([("pin", "LED0")]), "gpio.write: missing \"value\" (0 or 1)"),
            ("gpio.watch", JSONObject([("pin", "BUTTON0"), ("edge", "up")]), "gpio.watch: \"edge\" must be rising, falling or both, found \"up\""),
            ("gpio.watch", JSONObject([("pin", "BUTTON0"), ("bias", "strong")]), "gpio.watch: \"bias\" must be one of as-is, disable, pull-up, pull-down, found \"strong\""),
            ("gpio.simulate", JSONObject([("pin", "BUTTON0"), ("pull", "sideways")]), "gpio.simulate: \"pull\" must be up or down, found \"sideways\""),
            ("gpio.unwatch", JSONObject([("watch", 77), ("pin", "BUTTON0")]), "pin BUTTON0 has no watch 77"),
            ("gpio.unwatch", JSONObject([("watch", 77)]), "gpio.unwatch: missing \"pin\" (a string)"),
        ]
        for (i, (method, params, message)) in cases.enumerated() {
            let m = try await host.call(Int64(10 + i), method, params)
            #expect(m.error == PluginProtocolError(.invalidParams, message))
        }
        host.close()
        #expect(await plugin.value == 0)
    }

    @Test func aBadConfigurationFailsTheHandshake() async throws {
        let (host, plugin) = try TestHost.start(GPIOPlugin.definition())
        let hello = PluginHandshake.Hello(host: "h", config: JSONObject([("backend", "wires")]))
        let m = try await host.call(1, PluginHandshake.method, hello.params)
        #expect(m.error == PluginProtocolError(.pluginError, "start failed: gpio config: \"backend\" must be \"sim\" or \"gpiod\", found \"wires\""))
        #expect(await plugin.value == 1)
    }

    @Test func theManifestDeclaresWhatThePluginOffers() throws {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/Plugins/gpio/plugin.toml"
        let text = try #require(TestData.readString(path))
        let manifest = try PluginManifest.parse(text)
        #expect(manifest.name == GPIOPlugin.name)
        #expect(manifest.version == GPIOPlugin.version)
        #expect(manifest.executable == "ela-plugin-gpio")
        #expect(manifest.methods.map(\.name) == GPIOPlugin.methods)
        let capabilities = Dictionary(uniqueKeysWithValues: manifest.methods.map { ($0.name, $0.capability) })
        #expect(capabilities == [
            "gpio.info": "gpio.info", "gpio.read": "gpio.read", "gpio.write": "gpio.write", "gpio.watch": "gpio.watch",
            "gpio.unwatch": "gpio.watch", "gpio.release": "gpio.write", "gpio.simulate": "gpio.simulate",
        ])
        #expect(manifest.events == [PluginManifest.Event(name: "gpio.edge", capability: "gpio.subscribe")])
        #expect(manifest.sandbox.devices == ["/dev/gpiochip*"])
        #expect(manifest.sandbox.network == false)
    }
}

/// The built `ela-plugin-gpio` executable, spawned with its socket on fd 3 like the host does.
@Suite(.ownThread) struct GPIOPluginProcessTests {
    @Test func theExecutableSpeaksTheProtocolAndStopsOnSIGTERM() async throws {
        let host = try TestHost()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let child = try ChildProcess(
            ChildProcess.product("ela-plugin-gpio"), [], environment: ["ELA_STATE_DIR": dir.path], outputDirectory: dir.path,
            fd3: host.pluginFD)
        let welcome = try await host.handshake(config: simConfig)
        #expect(welcome.methods == GPIOPlugin.methods)
        #expect(try await host.call(2, "gpio.write", JSONObject([("pin", "RELAY0"), ("value", 1)])).result?["value"] == 1)
        #expect(try await host.call(3, "gpio.read", JSONObject([("pin", "RELAY0")])).result?["value"] == 1)
        let ping = try #require(try await host.call(4, PluginHandshake.pingMethod).result)
        #expect((ping["rssKB"]?.numberValue?.int64Value ?? 0) > 0)
        #expect(ping["droppedEvents"] == 0)
        child.signal(SIGTERM)
        #expect(try child.wait(timeoutSeconds: 10) == 0)
        #expect(child.stderr.contains("gpio: sim backend, 1 chip(s), 8 pin(s)"))
    }

    @Test func theExecutableExitsCleanlyWhenTheHostCloses() async throws {
        let host = try TestHost()
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let child = try ChildProcess(ChildProcess.product("ela-plugin-gpio"), [], outputDirectory: dir.path, fd3: host.pluginFD)
        try await host.handshake(config: simConfig)
        _ = try await host.call(2, "gpio.watch", JSONObject([("pin", "BUTTON1")]))
        host.close()
        #expect(try child.wait(timeoutSeconds: 10) == 0)
    }

    @Test func withoutFdThreeTheExecutableRefusesToRun() throws {
        // The test runner has descriptors of its own at 3; the shell closes it before the plugin starts.
        let result = try ChildProcess.run("/bin/sh", ["-c", "exec 3>&- && exec \"$0\"", ChildProcess.product("ela-plugin-gpio")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("file descriptor 3 is not a socket from the host"))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaFileSystem
import ElaJSON
import ElaPluginProtocol
import ElaSensors
import ElaTestSupport
import Testing

/// The built `ela-plugin-sensors`, spawned with a socketpair on fd 3 and spoken to as the agent would.
@Suite(.ownThread) struct PluginProcessTests {
    /// Next to this package's sources: three levels above this file (Tests/ElaSensorsTests/PluginProcessTests.swift).
    static let manifestPath: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/Plugins/sensors/plugin.toml"
    }()

    @Test func manifestParsesAndDeclaresTheCapabilities() throws {
        let text = try #require(TestData.readString(Self.manifestPath))
        let manifest = try PluginManifest.parse(text)
        #expect(manifest.name == "sensors" && manifest.executable == "ela-plugin-sensors")
        #expect(manifest.methods.map { [$0.name, $0.capability] } == [["sensors.list", "sensors.list"], ["sensors.read", "sensors.read"]])
        #expect(manifest.events == [PluginManifest.Event(name: "sensors.reading", capability: "sensors.subscribe")])
        #expect(manifest.sandbox.devices.isEmpty && !manifest.sandbox.network && manifest.sandbox.stateDirectory)
    }

    @Test func simulatedPluginListsReadsAndEmitsReadings() throws {
        let state = TemporaryDirectory(prefix: "ela-sensors-proc")
        defer { state.remove() }
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        let host = BlockingHost(fd: fds[0])
        defer { close(fds[0]) }
        let plugin = try ChildProcess(
            ChildProcess.product("ela-plugin-sensors"), [], environment: ["ELA_STATE_DIR": state.path], outputDirectory: state.path,
            fd3: fds[1])
        close(fds[1])

        let config = JSONObject([("simulate", true), ("interval_ms", 100)])
        let hello = PluginHandshake.Hello(host: "ela-agent test", config: config)
        let welcome = try PluginHandshake.Welcome(result: try host.result(of: 1, PluginHandshake.method, hello.params), offered: [1])
        #expect(welcome.name == "sensors")
        #expect(welcome.methods == ["sensors.list", "sensors.read"] && welcome.events == ["sensors.reading"])
        let manifest = try PluginManifest.parse(try #require(TestData.readString(Self.manifestPath)))
        #expect(welcome.methods == manifest.methods.map(\.name) && welcome.events == manifest.events.map(\.name))

        let list = try host.result(of: 2, "sensors.list")
        #expect(list["sensors"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == SimulatedSysfs.sensorIds)
        // The simulated tree is on a memory filesystem, not in the state directory, and gone when the plugin stops.
        let path = try #require(list["sensors"]?.arrayValue?.first?["path"]?.stringValue)
        #expect(!path.hasPrefix(state.path) && path.contains("/ela-sensors-sim-\(plugin.pid)-") && FileSystem.isInMemory(path))
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let simulation = parts[..<(try #require(parts.firstIndex(of: "sim-sysfs")))].joined(separator: "/")

        let one = try host.result(of: 3, "sensors.read", JSONObject([("sensor", "iio/bme280/pressure")]))
        let pressure = try #require(one["readings"]?.arrayValue?.first)
        #expect(pressure["unit"] == "pascal" && pressure["kind"] == "pressure")
        #expect((100_000...102_500).contains(try #require(pressure["value"]?.numberValue?.doubleValue)))
        #expect(try host.result(of: 4, "sensors.read")["readings"]?.arrayValue?.count == 5)

        let unknown = try host.call(5, "sensors.read", JSONObject([("sensor", "iio/nope")]))
        guard case .failure(5, let error) = unknown else { Issue.record("expected an error, got \(unknown)"); return }
        #expect(error.kind == .invalidParams)
        #expect(error.message.contains("w1/28-0316a2799aff"))
        let badType = try host.call(6, "sensors.read", JSONObject([("sensor", 5)]))
        guard case .failure(6, let typeError) = badType else { Issue.record("expected an error, got \(badType)"); return }
        #expect(typeError.kind == .invalidParams)

        while host.notifications.count < 8 { _ = try host.receive() }
        let readings = host.notifications.filter { $0.method == "sensors.reading" }
        #expect(readings.count == host.notifications.count)
        #expect(Set(readings.compactMap { $0.params["sensor"]?.stringValue }).count == 5)
        for r in readings {
            #expect(r.params.keys == ["sensor", "kind", "value", "unit", "timestamp_ms"])
            #expect((r.params["timestamp_ms"]?.numberValue?.int64Value ?? 0) > 1_600_000_000_000)
        }

        shutdown(fds[0], Int32(SHUT_WR))  // the host hangs up: the plugin stops its poller and exits cleanly
        #expect(try plugin.wait(timeoutSeconds: 10) == 0)
        #expect(plugin.stderr.contains("simulating sensors in \(simulation)/sim-sysfs"))
        #expect(!FileSystem.exists(simulation))
    }

    @Test func badConfigFailsTheStartWithTheKey() throws {
        let state = TemporaryDirectory(prefix: "ela-sensors-proc")
        defer { state.remove() }
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        let host = BlockingHost(fd: fds[0])
        defer { close(fds[0]) }
        let plugin = try ChildProcess(ChildProcess.product("ela-plugin-sensors"), [], outputDirectory: state.path, fd3: fds[1])
        close(fds[1])
        let hello = PluginHandshake.Hello(host: "ela-agent test", config: JSONObject([("interval_ms", 10)]))
        let answer = try host.call(1, PluginHandshake.method, hello.params)
        guard case .failure(1, let error) = answer else { Issue.record("expected start to fail, got \(answer)"); return }
        #expect(error.message.contains("interval_ms"))
        #expect(try plugin.wait(timeoutSeconds: 10) == 1)
    }
}

/// The agent's end of the socket, blocking reads with a timeout; notifications met while waiting are kept.
final class BlockingHost {
    let fd: Int32
    var decoder = PluginFrameDecoder()
    var notifications: [(method: String, params: JSONObject)] = []

    init(fd: Int32) {
        self.fd = fd
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ m: PluginMessage) {
        let bytes = m.encoded()
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    func receive() throws -> PluginMessage {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let payload = try decoder.next() {
                let m = try PluginMessage(payload: payload)
                if case .notification(let method, let params) = m { notifications.append((method, params)) }
                return m
            }
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw ChildProcessError(message: "plugin closed the socket or timed out") }
            decoder.append(buf[0..<n])
        }
    }

    /// Sends a request and returns its answer (response or failure).
    func call(_ id: Int64, _ method: String, _ params: JSONObject = JSONObject()) throws -> PluginMessage {
        send(.request(id: id, method: method, params: params))
        while true {
            let m = try receive()
            switch m {
            case .response(let i, _) where i == id, .failure(let i?, _) where i == id: return m
            default: continue
            }
        }
    }

    func result(of id: Int64, _ method: String, _ params: JSONObject = JSONObject()) throws -> JSONValue {
        let m = try call(id, method, params)
        guard case .response(_, let result) = m else { throw ChildProcessError(message: "\(method) failed: \(m)") }
        return result
    }
}

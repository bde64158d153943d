#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaTestSupport
import Testing

/// `ela`, the package's one program: the name it is started under picks the daemon, the CLI or a plugin.
@Suite(.ownThread, .serialized) struct MultiCallProgramTests {
    let ela = ChildProcess.product("ela")

    func link(_ dir: TemporaryDirectory, _ name: String) -> String {
        let path = dir.path + "/" + name
        #expect(symlink(ela, path) == 0)
        return path
    }

    @Test func theNameItRunsUnderPicksTheTool() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let version = try ChildProcess.run(link(dir, "elactl"), ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains(AgentVersion.string))
        let agentHelp = try ChildProcess.run(link(dir, "ela-agent"), ["--help"])
        #expect(agentHelp.status == 0)
        #expect(agentHelp.stdout.contains("USAGE: ela-agent"))
        // A plugin started without the host's socket on fd 3 says so and fails, as the separate program does.
        let plugin = try ChildProcess.run(link(dir, "ela-plugin-gpio"), [])
        #expect(plugin.status != 0)
        let unknown = try ChildProcess.run(link(dir, "something-else"), [])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("started as 'something-else'"))
        #expect(unknown.stderr.contains("ela-plugin-sensors"))
    }

    /// The agent and its plugins all from the one program, as the package installs them: plugin programs are
    /// links next to their manifests.
    @Test func theAgentRunsItsPluginsFromTheSameProgram() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for name in ["gpio", "sensors"] {
            let folder = dir.path + "/plugins/" + name
            #expect(mkdir(dir.path + "/plugins", 0o755) == 0 || errno == EEXIST)
            #expect(mkdir(folder, 0o755) == 0)
            let manifest = TestData.readString(TestData.repoRoot + "/Plugins/\(name)/plugin.toml") ?? ""
            #expect(!manifest.isEmpty)
            _ = dir.write("plugins/\(name)/plugin.toml", manifest)
            #expect(symlink(ela, folder + "/ela-plugin-" + name) == 0)
        }
        let config = dir.write("agent.toml", "[plugins]\nsandbox = false\n")
        let socket = dir.path + "/run/control.sock"
        let agent = try ChildProcess(
            link(dir, "ela-agent"),
            ["--board", "sim", "--state-dir", dir.path + "/state", "--runtime-dir", dir.path + "/run", "--config", config],
            environment: ["ELA_PLUGINS_DIR": dir.path + "/plugins"], outputDirectory: dir.path)
        defer {
            agent.signal(SIGTERM)
            _ = try? agent.wait()
        }
        try #require(ChildProcess.waitUntil(timeoutSeconds: 30) { agent.stdout.contains("ela-agent ready") }, "\(agent.stderr)")
        let elactl = link(dir, "elactl")
        var list = ""
        let running = ChildProcess.waitUntil(timeoutSeconds: 30) {
            list = (try? ChildProcess.run(elactl, ["plugin", "list", "--socket", socket]).stdout) ?? ""
            return list.contains("gpio 0.1.0: running") && list.contains("sensors 0.1.0: running")
        }
        #expect(running, "\(list)")
        // The gpio plugin answering is the multi-call program: its process runs the link next to the manifest.
        let info = try ChildProcess.run(elactl, ["plugin", "info", "gpio", "--json", "--socket", socket])
        #expect(info.stdout.contains(dir.path + "/plugins/gpio/ela-plugin-gpio"), "\(info.stdout)")
        let write = try ChildProcess.run(elactl, ["call", "gpio.write", #"{"pin":"LED0","value":1}"#, "--socket", socket])
        #expect(write.status == 0, "\(write.stderr)")
        let read = try ChildProcess.run(elactl, ["call", "gpio.read", #"{"pin":"LED0"}"#, "--json", "--socket", socket])
        #expect(read.stdout.contains("\"value\": 1"), "\(read.stdout)")
        let sensors = try ChildProcess.run(elactl, ["call", "sensors.list", "--socket", socket])
        #expect(sensors.status == 0, "\(sensors.stderr)")
    }
}

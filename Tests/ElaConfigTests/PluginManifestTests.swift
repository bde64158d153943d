import ElaConfig
import ElaTestSupport
import Testing

@Suite(.ownThread) struct PluginManifestTests {
    static let gpio = """
        name = "gpio"
        version = "0.1.0"
        executable = "ela-plugin-gpio"
        description = "GPIO lines by board pin name"
        consumes = []

        [[method]]
        name = "gpio.write"
        capability = "gpio.write"

        [[method]]
        name = "gpio.read"
        capability = "gpio.read"

        [[event]]
        name = "gpio.edge"
        capability = "gpio.subscribe"

        [sandbox]
        devices = ["/dev/gpiochip*"]
        network = false
        memory_mb = 32
        pids = 8
        """

    @Test func aValidManifestParses() throws {
        let m = try PluginManifest.parse(Self.gpio)
        #expect(m.name == "gpio" && m.version == "0.1.0" && m.executable == "ela-plugin-gpio")
        #expect(m.methods.map(\.name) == ["gpio.write", "gpio.read"])
        #expect(m.methods[0].capability == "gpio.write")
        #expect(m.events == [.init(name: "gpio.edge", capability: "gpio.subscribe")])
        #expect(m.sandbox.devices == ["/dev/gpiochip*"] && !m.sandbox.network && m.sandbox.memoryMB == 32 && m.sandbox.pids == 8)
        #expect(m.sandbox.stateDirectory)
    }

    /// Each broken manifest names the key that is wrong and its line.
    @Test(arguments: [
        ("name = \"GPIO\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n", "name", 1),
        ("name = \"ela\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n", "name", 1),
        ("name = \"gpio\"\nversion = \"one\"\nexecutable = \"x\"\n", "version", 2),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"../x\"\n", "executable", 3),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[[method]]\nname = \"mqtt.publish\"\ncapability = \"gpio.write\"\n", "method[0].name", 4),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[[method]]\nname = \"gpio.write\"\ncapability = \"all\"\n", "method[0].capability", 4),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\ndevices = [\"/etc/shadow\"]\n", "sandbox.devices", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\n\nmemory_mb = 100000\n", "sandbox.memory_mb", 6),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\nroot = true\n", "root", 4),
        // The host's /proc, /dev, sockets and /etc would show through the sandbox's own.
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"/proc\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"/run/dbus\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"/dev/\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"/etc\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"//run\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\nexecutable = \"x\"\n[sandbox]\nread_only = [\"/./proc\"]\n", "sandbox.read_only", 5),
        ("name = \"gpio\"\nversion = \"0.1.0\"\n", "executable", nil),
    ] as [(String, String, Int?)])
    func brokenManifestsNameKeyAndLine(_ text: String, _ key: String, _ line: Int?) {
        do {
            _ = try PluginManifest.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            if let line { #expect(error.line == line, "\(error)") }
        }
    }
}

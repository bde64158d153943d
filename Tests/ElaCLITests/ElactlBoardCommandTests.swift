import ElaJSON
import ElaTestSupport
import Testing

/// `elactl board show` prints each chip's granted device nodes: the board-in-a-box guest builds its gpio-sim chips
/// from this output and checks they land on the nodes the board grants.
@Suite(.ownThread) struct ElactlBoardCommandTests {
    let elactl = ChildProcess.product("elactl")
    let boards = TestData.repoRoot + "/Boards"

    @Test func showPrintsChipsWithTheirDevices() throws {
        let text = try ChildProcess.run(elactl, ["board", "show", "qemu-gpio-sim", "--dir", boards])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("chip ela-sim-outputs: 8 lines, devices /dev/gpiochip0"), "\(lines)")
        #expect(lines.contains("chip ela-sim-inputs: 8 lines, devices /dev/gpiochip1"), "\(lines)")
        #expect(lines.contains("  LED0\tela-sim-outputs line 0"), "\(lines)")
        // A board without device nodes prints no device list.
        let sim = try ChildProcess.run(elactl, ["board", "show", "sim", "--dir", boards])
        #expect(sim.stdout.split(separator: "\n").contains("chip ela-sim-gpio: 16 lines"), "\(sim.stdout)")

        let json = try JSONParser.parse(try ChildProcess.run(elactl, ["board", "show", "qemu-gpio-sim", "--dir", boards, "--json"]).stdout)
        #expect(json["gpioDevices"]?.arrayValue?.compactMap(\.stringValue) == ["/dev/gpiochip0", "/dev/gpiochip1"])
        #expect(json["chips"]?.arrayValue?.first?["devices"]?.arrayValue?.compactMap(\.stringValue) == ["/dev/gpiochip0"])
    }
}

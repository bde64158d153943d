import ElaGPIO
import ElaJSON
import Testing

@Suite struct GPIOConfigurationTests {
    @Test func theSimBoardConfigurationParses() throws {
        let json = try JSONParser.parse(
            #"{"backend":"sim","chips":[{"label":"ela-sim-gpio","lines":16}],"pins":{"LED0":{"chip":"ela-sim-gpio","line":0},"BUTTON0":{"chip":"ela-sim-gpio","line":2}}}"#
        )
        let c = try GPIOConfiguration(json: try #require(json.objectValue))
        #expect(c.backend == .sim)
        #expect(c.chips == [.init(label: "ela-sim-gpio", lines: 16)])
        #expect(c.pins == [.init(name: "LED0", chip: "ela-sim-gpio", line: 0), .init(name: "BUTTON0", chip: "ela-sim-gpio", line: 2)])
        #expect(c.consumer == "ela-gpio")
        #expect(c.makeBackend().kind == "sim")
    }

    @Test func gpiodIsTheDefaultAndChipsMayCarryAParent() throws {
        let json = try JSONParser.parse(
            #"{"chips":[{"label":"gpio-0-31","lines":32,"parent":"44e07000.gpio"}],"pins":{"P9_12":{"chip":"gpio-0-31","line":28},"X":{"chip":"other","line":3}}}"#
        )
        let c = try GPIOConfiguration(json: try #require(json.objectValue))
        #expect(c.backend == .gpiod)
        #expect(c.chips[0].parent == "44e07000.gpio")
        #expect(c.makeBackend().kind == "gpiod")
        #expect(try GPIOConfiguration(json: JSONObject()).pins.isEmpty)
    }

    @Test(arguments: [
        (#"{"backend":"wires"}"#, #"gpio config: "backend" must be "sim" or "gpiod", found "wires""#),
        (#"{"backend":1}"#, #"gpio config: "backend" must be "sim" or "gpiod", found a number"#),
        (#"{"chips":{}}"#, #"gpio config: "chips" must be an array of {label, lines}"#),
        (#"{"chips":[{"label":"c"}]}"#, #"gpio config: chips[0] (c) needs "lines" (an integer)"#),
        (#"{"chips":[{"label":"c","lines":0}]}"#, "gpio config: chip 'c' has 0 lines; 1...4096 allowed"),
        (#"{"chips":[{"label":"c","lines":2},{"label":"c","lines":2}]}"#, "gpio config: chip 'c' is listed twice"),
        (#"{"chips":[{"label":"c","lines":2,"parent":"../x"}]}"#, "gpio config: chip 'c': parent '../x' must be a plain device name like 44e07000.gpio"),
        (#"{"pins":{"A":{"line":1}}}"#, #"gpio config: pins.A needs "chip" (a chip label)"#),
        (#"{"pins":{"A":{"chip":"c","line":"1"}}}"#, #"gpio config: pins.A needs "line" (an integer)"#),
        (#"{"pins":{"A":{"chip":"c","line":-1}}}"#, "gpio config: pins.A: line -1 is negative"),
        (#"{"backend":"sim","chips":[{"label":"c","lines":2}],"pins":{"A":{"chip":"d","line":1}}}"#, "gpio config: pins.A: chip 'd' is not among the chips (c)"),
        (#"{"backend":"sim","chips":[{"label":"c","lines":2}],"pins":{"A":{"chip":"c","line":2}}}"#, "gpio config: pins.A: chip 'c' has lines 0...1, not 2"),
        (#"{"backend":"sim","pins":{"A":{"chip":"c","line":2}}}"#, #"gpio config: the sim backend needs "chips" to simulate"#),
        (#"{"consumer":""}"#, #"gpio config: "consumer" must be a string of 1 to 31 bytes"#),
    ])
    func mistakesNameTheirKey(_ text: String, _ message: String) throws {
        let o = try #require(try JSONParser.parse(text).objectValue)
        #expect(gpioError { _ = try GPIOConfiguration(json: o) } == GPIOError(.configuration, message))
    }
}

import ElaConfig
import ElaTestSupport
import Testing

/// The board files shipped in `Boards/`: every one loads through `BoardCatalog`, and known facts of the published
/// pinouts hold.
@Suite(.ownThread) struct BoardTests {
    static let catalog = BoardCatalog(directory: TestData.repoRoot + "/Boards")

    static func board(_ id: String) throws -> BoardDescription { try catalog.load(id) }

    @Test func theCatalogHasTheFourBoards() {
        let ids = Self.catalog.ids()
        for id in ["sim", "raspberry-pi-4b", "raspberry-pi-5", "beaglebone-black"] { #expect(ids.contains(id), "\(ids)") }
    }

    @Test(arguments: catalog.ids())
    func everyBoardFileLoadsAndChecks(_ id: String) throws {
        let board = try Self.catalog.load(id)
        #expect(board.id == id)
        #expect(!board.name.isEmpty)
        #expect(!board.pins.isEmpty)
        #expect(board.defaultPlugins == ["gpio", "sensors"])
        #expect(board.pins.map(\.name) == board.pins.map(\.name).sorted())
        for bus in board.buses { #expect(bus.pins.allSatisfy { board.pin(named: $0) != nil }, "\(bus.name)") }
    }

    @Test func loadAllLoadsEveryFile() throws {
        let boards = try Self.catalog.loadAll()
        #expect(boards.map(\.id) == Self.catalog.ids())
    }

    @Test func anUnknownBoardNamesTheKnownOnes() {
        #expect(throws: ConfigError.self) { try Self.catalog.load("no-such-board") }
        do {
            _ = try Self.catalog.load("no-such-board")
        } catch {
            #expect(error.key == "board" && error.message.contains("known boards: beaglebone-black, ") && error.message.contains("raspberry-pi-4b"), "\(error)")
        }
        // A misspelt id: the one meant.
        do {
            _ = try Self.catalog.load("raspbery-pi-4b")
            Issue.record("a misspelt board loaded")
        } catch {
            #expect(error.message.hasSuffix("did you mean 'raspberry-pi-4b'?)"), "\(error)")
        }
    }

    @Test func simBoardKeepsItsPins() throws {
        let sim = try Self.board("sim")
        #expect(sim.pins.first { $0.name == "LED0" } == .init(name: "LED0", chip: "ela-sim-gpio", line: 0))
        let expected = ["LED0", "LED1", "BUTTON0", "BUTTON1", "RELAY0", "GPIO5", "GPIO6", "GPIO7"]
        for (line, name) in expected.enumerated() {
            #expect(sim.pin(named: name) == .init(name: name, chip: "ela-sim-gpio", line: line))
        }
        #expect(sim.chips == [.init(label: "ela-sim-gpio", lines: 16, parent: nil, devices: [])])
        #expect(sim.gpioDevices.isEmpty)
        #expect(sim.sensors.simulated)
        #expect(sim.buses.isEmpty && sim.w1.isEmpty && sim.headers.isEmpty)
    }

    /// The board-in-a-box guest (scripts/board/guest-init.sh) creates gpio-sim chips from this file, in this order,
    /// so chip k becomes /dev/gpiochipK; the GPIO plugin gets the gpiod backend because the board grants devices.
    @Test func qemuGpioSimBoardHasTwoGrantedChips() throws {
        let b = try Self.board("qemu-gpio-sim")
        #expect(b.chips == [
            .init(label: "ela-sim-outputs", lines: 8, parent: nil, devices: ["/dev/gpiochip0"]),
            .init(label: "ela-sim-inputs", lines: 8, parent: nil, devices: ["/dev/gpiochip1"]),
        ])
        #expect(b.gpioDevices == ["/dev/gpiochip0", "/dev/gpiochip1"])
        #expect(b.pin(named: "LED0") == .init(name: "LED0", chip: "ela-sim-outputs", line: 0, header: .init(header: "P1", pin: 1)))
        #expect(b.pin(named: "BUTTON0")?.chip == "ela-sim-inputs" && b.pin(named: "BUTTON0")?.line == 0)
        #expect(b.pins.count == 8 && b.headers == [.init(name: "P1", pins: 10)])
        #expect(b.sensors.simulated)
    }

    /// The 28 signal pins of the 40-pin header: physical pin -> BCM GPIO number (pinout.xyz, raspberrypi.com).
    static let j8: [Int: Int] = [
        3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10, 21: 9, 22: 25,
        23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
    ]

    @Test(arguments: [("raspberry-pi-4b", "pinctrl-bcm2711", 58), ("raspberry-pi-5", "pinctrl-rp1", 54)])
    func raspberryPiHeaderIsTheJ8Pinout(_ id: String, _ label: String, _ lines: Int) throws {
        let pi = try Self.board(id)
        #expect(pi.chips.map(\.label) == [label])
        #expect(pi.chip(labeled: label)?.lines == lines)
        #expect(pi.headers == [.init(name: "J8", pins: 40)])
        #expect(pi.pins.count == 28)
        for physical in 1...40 {
            let pin = pi.pin(header: "J8", pin: physical)
            guard let gpio = Self.j8[physical] else {
                #expect(pin == nil, "J8 pin \(physical) is power or ground")
                continue
            }
            let name = gpio == 0 ? "ID_SDA" : gpio == 1 ? "ID_SCL" : "GPIO\(gpio)"
            #expect(pin?.name == name, "J8 pin \(physical)")
            #expect(pin?.chip == label && pin?.line == gpio, "J8 pin \(physical)")
        }
        let gpio17 = try #require(pi.pin(named: "GPIO17"))
        #expect(gpio17.line == 17 && gpio17.header == .init(header: "J8", pin: 11))
        let i2c = try #require(pi.i2c.first { $0.name == "i2c-1" })
        #expect(i2c.device == "/dev/i2c-1" && i2c.pins == ["GPIO2", "GPIO3"])
        #expect(i2c.pins.compactMap { pi.pin(named: $0)?.header?.pin } == [3, 5])
        #expect(pi.spi.first { $0.device == "/dev/spidev0.0" }?.pins == ["GPIO10", "GPIO9", "GPIO11", "GPIO8"])
        #expect(pi.w1.map(\.pin) == ["GPIO4"] && pi.pin(named: "GPIO4")?.header?.pin == 7)
        #expect(pi.uart.count == 1 && pi.uart[0].pins.compactMap { pi.pin(named: $0)?.header?.pin } == [8, 10])
        #expect(pi.sensors.hwmon.contains("cpu_thermal") && pi.sensors.thermalZones == ["cpu-thermal"])
        #expect(!pi.sensors.simulated && pi.sensors.sysfsRoot == "/sys")
        #expect(pi.gpioDevices.first == "/dev/gpiochip0")
    }

    @Test func raspberryPiUARTsDiffer() throws {
        #expect(try Self.board("raspberry-pi-4b").uart.map(\.device) == ["/dev/serial0"])
        // On the Pi 5, /dev/serial0 is the debug connector; the header UART is ttyAMA0.
        #expect(try Self.board("raspberry-pi-5").uart.map(\.device) == ["/dev/ttyAMA0"])
        #expect(try Self.board("raspberry-pi-5").gpioDevices == ["/dev/gpiochip0", "/dev/gpiochip4"])
    }

    /// AM335x bank -> platform device; the label depends on probe order, the parent does not.
    static let bbbBanks = ["44e07000.gpio": 0, "4804c000.gpio": 1, "481ac000.gpio": 2, "481ae000.gpio": 3]

    @Test func beagleBoneBlackKnownPins() throws {
        let bbb = try Self.board("beaglebone-black")
        #expect(bbb.chips.count == 4 && bbb.chips.allSatisfy { $0.lines == 32 })
        #expect(Set(bbb.chips.compactMap(\.parent)) == Set(Self.bbbBanks.keys))
        #expect(bbb.headers == [.init(name: "P8", pins: 46), .init(name: "P9", pins: 46)])
        #expect(bbb.pins.count == 57)
        #expect(bbb.gpioDevices == ["/dev/gpiochip0", "/dev/gpiochip1", "/dev/gpiochip2", "/dev/gpiochip3"])
        // (pin, SoC bank, line) from the BeagleBone Black SRM tables.
        let known: [(String, Int, Int)] = [
            ("P8_12", 1, 12), ("P8_11", 1, 13), ("P8_13", 0, 23), ("P8_7", 2, 2), ("P8_26", 1, 29), ("P8_45", 2, 6),
            ("P9_12", 1, 28), ("P9_15", 1, 16), ("P9_22", 0, 2), ("P9_25", 3, 21), ("P9_41", 0, 20), ("P9_42", 0, 7),
        ]
        for (name, bank, line) in known {
            let pin = try #require(bbb.pin(named: name), "\(name)")
            #expect(pin.line == line, "\(name)")
            #expect(bbb.chip(labeled: pin.chip)?.parent.flatMap { Self.bbbBanks[$0] } == bank, "\(name)")
        }
        #expect(bbb.i2c.first { $0.name == "i2c-2" }?.pins == ["P9_20", "P9_19"])
        #expect(bbb.w1.map(\.pin) == ["P9_12"])
        // The on-board eMMC pins are left out.
        for emmc in ["P8_3", "P8_4", "P8_5", "P8_6", "P8_20", "P8_21", "P8_22", "P8_23", "P8_24", "P8_25"] {
            #expect(bbb.pin(named: emmc) == nil, "\(emmc)")
        }
    }

    /// Each name says where it is (P8_12 is header P8 pin 12) and each note starts with the SoC name of the line
    /// (GPIO1_12), which must match the chip's bank and the line.
    @Test func beagleBoneBlackNamesNotesAndLinesAgree() throws {
        let bbb = try Self.board("beaglebone-black")
        for pin in bbb.pins {
            let parts = pin.name.split(separator: "_")
            #expect(parts.count == 2 && pin.header == .init(header: String(parts[0]), pin: Int(parts[1]) ?? 0), "\(pin.name)")
            let bank = try #require(bbb.chip(labeled: pin.chip)?.parent.flatMap { Self.bbbBanks[$0] })
            let soc = "GPIO\(bank)_\(pin.line)"
            #expect(pin.note == soc || pin.note.hasPrefix(soc + ";"), "\(pin.name): \(pin.note)")
        }
    }
}

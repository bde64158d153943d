import ElaConfig
import ElaTestSupport
import Testing

/// Board file checks: each broken file is refused with the key path and the line that is wrong.
@Suite(.ownThread) struct BoardValidationTests {
    /// A small valid board; `top` goes after `name` (line 3 on), `chip` extends the chip table (line 6 on) and
    /// `tail` follows the two pins (line 12 on when `top` and `chip` are empty).
    static func board(top: [String] = [], chip: [String] = [], tail: [String] = []) -> String {
        (["id = \"x\"", "name = \"X\""] + top + ["[[gpiochip]]", "label = \"c\"", "lines = 8"] + chip
            + ["[[header]]", "name = \"J1\"", "pins = 10", "[pins]",
               "A = { chip = \"c\", line = 0, header = \"J1\", pin = 1 }",
               "B = { chip = \"c\", line = 1, header = \"J1\", pin = 2, note = \"second\" }"] + tail)
            .joined(separator: "\n") + "\n"
    }

    static func i2c(_ device: String = "/dev/i2c-1", pins: String = "[\"A\", \"B\"]", name: String = "i2c-1") -> [String] {
        ["[[i2c]]", "name = \"\(name)\"", "device = \"\(device)\"", "pins = \(pins)"]
    }

    @Test func theSmallBoardParses() throws {
        let b = try BoardDescription.parse(Self.board(tail: Self.i2c()), fileName: "x.toml", expectedId: "x")
        #expect(b.pin(header: "J1", pin: 2) == .init(name: "B", chip: "c", line: 1, header: .init(header: "J1", pin: 2), note: "second"))
        #expect(b.pin(header: "J1", pin: 3) == nil)
        #expect(b.i2c == [.init(kind: .i2c, name: "i2c-1", device: "/dev/i2c-1", pins: ["A", "B"], enable: "")])
        #expect(b.sensors == BoardDescription.Sensors())
        #expect(b.gpioDevices.isEmpty)
    }

    @Test func deviceNodesAreMergedWithoutDuplicates() throws {
        let text = Self.board(
            top: ["devices = [\"/dev/gpiochip1\", \"/dev/gpiochip0\"]"], chip: ["devices = [\"/dev/gpiochip0\", \"/dev/gpiochip2\"]"])
        let b = try BoardDescription.parse(text, fileName: "x.toml", expectedId: "x")
        #expect(b.gpioDevices == ["/dev/gpiochip1", "/dev/gpiochip0", "/dev/gpiochip2"])
    }

    @Test func allBusKindsAndSensorsParse() throws {
        let text = Self.board(
            tail: [
                "C = { chip = \"c\", line = 2 }", "D = { chip = \"c\", line = 3 }",
                "[[spi]]", "name = \"spi0.0\"", "device = \"/dev/spidev0.0\"", "pins = [\"A\", \"B\", \"C\", \"D\"]",
                "enable = \"dtparam=spi=on\"",
                "[[uart]]", "name = \"serial0\"", "device = \"/dev/serial0\"", "pins = [\"A\", \"B\"]",
                "[[uart]]", "name = \"uart1\"", "device = \"/dev/ttyS1\"", "pins = [\"A\", \"B\", \"C\", \"D\"]",
                "[[w1]]", "name = \"w1\"", "pin = \"C\"", "master = \"w1_bus_master1\"",
                "[sensors]", "sysfs_root = \"/tmp/fake-sys\"", "thermal_zones = [\"cpu-thermal\"]",
                "hwmon = [\"cpu_thermal\"]", "iio = [\"TI-am335x-adc.0.auto\"]",
            ])
        let b = try BoardDescription.parse(text, fileName: "x.toml", expectedId: "x")
        #expect(b.spi.map(\.enable) == ["dtparam=spi=on"] && b.uart.map(\.device) == ["/dev/serial0", "/dev/ttyS1"])
        #expect(b.w1 == [.init(name: "w1", pin: "C", master: "w1_bus_master1", enable: "")])
        #expect(b.sensors.sysfsRoot == "/tmp/fake-sys" && b.sensors.iio == ["TI-am335x-adc.0.auto"])
        #expect(b.buses.map(\.kind) == [.spi, .uart, .uart])
    }

    @Test(arguments: [
        // Top level.
        ("id = \"x\"\nname = \"\"\n", "name", 2),
        (board(top: ["default_plugins = [\"gpio\", \"Sensors\"]"]), "default_plugins[1]", 3),
        (board(top: ["default_plugins = [\"gpio\", \"gpio\"]"]), "default_plugins[1]", 3),
        (board(top: ["devices = [\"/dev/mem\"]"]), "devices[0]", 3),
        (board(top: ["devices = [\"/dev/gpiochip*\"]"]), "devices[0]", 3),
        // Chips.
        (board(chip: ["devices = [\"/dev/gpiochip0\", \"/dev/gpiochip0\"]"]), "gpiochip[0].devices[1]", 6),
        (board(chip: ["devices = [\"/dev/gpiochip0/../mem\"]"]), "gpiochip[0].devices[0]", 6),
        (board(chip: ["parent = \"a/b\""]), "gpiochip[0].parent", 6),
        (board(tail: ["[[gpiochip]]", "label = \"d\"", "lines = 4", "parent = \"p\"", "[[gpiochip]]", "label = \"e\"", "lines = 4", "parent = \"p\""]),
         "gpiochip[2].parent", 19),
        // Headers.
        (board(tail: ["[[header]]", "name = \"J1\"", "pins = 4"]), "header[1].name", 13),
        (board(tail: ["[[header]]", "name = \"J 2\"", "pins = 4"]), "header[1].name", 13),
        (board(tail: ["[[header]]", "name = \"J2\"", "pins = 0"]), "header[1].pins", 14),
        // Pins.
        (board(tail: ["\"C D\" = { chip = \"c\", line = 2 }"]), "pins.C D", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, header = \"J9\", pin = 1 }"]), "pins.C.header", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, header = \"J1\", pin = 11 }"]), "pins.C.pin", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, header = \"J1\", pin = 2 }"]), "pins.C.pin", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, header = \"J1\" }"]), "pins.C.pin", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, pin = 3 }"]), "pins.C.header", 12),
        (board(tail: ["C = { chip = \"c\", line = 0 }"]), "pins.C", 12),
        (board(tail: ["C = { chip = \"c\", line = 2, colour = 1 }"]), "pins.C.colour", 12),
        // Buses.
        (board(tail: i2c(name: "I2C 1")), "i2c[0].name", 13),
        (board(tail: i2c("/dev/spidev0.0")), "i2c[0].device", 14),
        (board(tail: i2c("/dev/i2c-1/../../mem")), "i2c[0].device", 14),
        (board(tail: i2c(pins: "[\"A\", \"Z\"]")), "i2c[0].pins[1]", 15),
        (board(tail: i2c(pins: "[\"A\", \"A\"]")), "i2c[0].pins[1]", 15),
        (board(tail: i2c(pins: "[\"A\", \"B\", \"A\"]")), "i2c[0].pins", 15),
        (board(tail: i2c() + i2c()), "i2c[1].name", 17),
        (board(tail: ["[[spi]]", "name = \"spi0.0\"", "device = \"/dev/spidev0\"", "pins = [\"A\", \"B\", \"A\"]"]), "spi[0].device", 14),
        (board(tail: ["[[spi]]", "name = \"spi0.0\"", "device = \"/dev/spidev0.0\"", "pins = [\"A\", \"B\"]"]), "spi[0].pins", 15),
        (board(tail: ["[[uart]]", "name = \"u\"", "device = \"/dev/sda\"", "pins = [\"A\", \"B\"]"]), "uart[0].device", 14),
        (board(tail: ["[[uart]]", "name = \"u\"", "device = \"/dev/ttyS1\"", "pins = [\"A\", \"B\", \"A\"]"]), "uart[0].pins", 15),
        (board(tail: ["[[uart]]", "name = \"u\"", "pins = [\"A\", \"B\"]"]), "uart[0].device", nil),
        // 1-wire.
        (board(tail: ["[[w1]]", "name = \"w1\"", "pin = \"Z\"", "master = \"w1_bus_master1\""]), "w1[0].pin", 14),
        (board(tail: ["[[w1]]", "name = \"w1\"", "pin = \"A\"", "master = \"../w1\""]), "w1[0].master", 15),
        (board(tail: ["[[w1]]", "name = \"a\"", "pin = \"A\"", "master = \"w1_bus_master1\"", "[[w1]]", "name = \"b\"", "pin = \"B\"", "master = \"w1_bus_master1\""]),
         "w1[1].master", 19),
        // Sensors.
        (board(tail: ["[sensors]", "sysfs_root = \"sys\""]), "sensors.sysfs_root", 13),
        (board(tail: ["[sensors]", "sysfs_root = \"/sys/../etc\""]), "sensors.sysfs_root", 13),
        (board(tail: ["[sensors]", "simulated = true", "sysfs_root = \"/sys\""]), "sensors.sysfs_root", 14),
        (board(tail: ["[sensors]", "hwmon = [\"cpu_thermal\", \"a/b\"]"]), "sensors.hwmon[1]", 13),
        (board(tail: ["[sensors]", "thermal_zones = [\"cpu-thermal\", \"cpu-thermal\"]"]), "sensors.thermal_zones[1]", 13),
        (board(tail: ["[sensors]", "iio = [\"two words\"]"]), "sensors.iio[0]", 13),
        (board(tail: ["[sensors]", "colour = 1"]), "sensors.colour", 13),
    ] as [(String, String, Int?)])
    func brokenBoardsNameKeyAndLine(_ text: String, _ key: String, _ line: Int?) {
        do {
            _ = try BoardDescription.parse(text, fileName: "x.toml", expectedId: "x")
            Issue.record("accepted: \(key)")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.file == "x.toml", "\(error)")
            if let line { #expect(error.line == line, "\(error)") }
        }
    }

    /// The checks that existed before buses and headers, unchanged.
    @Test(arguments: [
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"d\", line = 0 }\n", "pins.A", 7),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"c\", line = 2 }\n", "pins.A", 7),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[pins]\nA = { chip = \"c\", line = 1 }\nB = { chip = \"c\", line = 1 }\n", "pins.B", 8),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 0\n", "gpiochip[0]", 5),
        ("id = \"x\"\nname = \"X\"\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n[[gpiochip]]\nlabel = \"c\"\nlines = 2\n", "gpiochip[1].label", 7),
        ("id = \"y\"\nname = \"X\"\n", "id", 1),
        ("id = \"X\"\nname = \"X\"\n", "id", 1),
        ("id = \"x\"\nname = \"X\"\ncolour = 1\n", "colour", 3),
    ])
    func earlierChecksStillHold(_ text: String, _ key: String, _ line: Int) {
        do {
            _ = try BoardDescription.parse(text, fileName: "x.toml", expectedId: "x")
            Issue.record("accepted")
        } catch {
            #expect(error.key == key, "\(error)")
            #expect(error.line == line, "\(error)")
        }
    }
}

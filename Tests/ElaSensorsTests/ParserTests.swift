import ElaSensors
import Testing

@Suite struct SysfsNumberTests {
    @Test(arguments: [
        ("23125\n", 23125.0), ("-4\n", -4), ("0.001000000\n", 0.001), ("+1.5", 1.5), ("  7 \n", 7), ("100.853125000\n", 100.853125),
        ("-0.5", -0.5), ("42.", 42), (".25", 0.25),
    ])
    func parsesKernelNumbers(_ text: String, _ expected: Double) throws {
        #expect(try SysfsNumber.parse(text, path: "f") == expected)
    }

    @Test(arguments: [
        "", "\n", "abc", "nan", "inf", "-inf", "0x10", "1e3", "1.2.3", "12abc", "--1", "+", ".", "\0\0", "1 2", "٣",
        String(repeating: "9", count: 100), "\u{FF}\u{FE}",
    ])
    func refusesEverythingElse(_ text: String) {
        #expect(throws: SensorError.self) { try SysfsNumber.parse(text, path: "f") }
    }

    @Test func errorCarriesAPrintableExcerpt() {
        #expect(throws: SensorError.notNumeric(path: "/x", content: "bad?value")) {
            try SysfsNumber.parse("bad\u{1}value\n", path: "/x")
        }
    }
}

@Suite struct W1ThermTests {
    static let good = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"

    @Test func crcMatchesPublishedVectors() {
        // Maxim application note 27: ROM code 02 1C B8 01 00 00 00 has CRC A2.
        #expect(CRC8.dallas([0x02, 0x1C, 0xB8, 0x01, 0x00, 0x00, 0x00]) == 0xA2)
        #expect(CRC8.dallas([0x72, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10]) == 0x57)
        // Running the CRC over data plus its CRC gives zero.
        #expect(CRC8.dallas([0x72, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10, 0x57]) == 0)
    }

    @Test func parsesAGoodReading() throws {
        let r = try W1Therm.parse(Self.good, path: "w1_slave")
        #expect(r.milliCelsius == 23125)
        #expect(r.celsius == 23.125)
        #expect(r.scratchpad == [0x72, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10, 0x57])
    }

    @Test(arguments: [-55.0, -10.125, -0.5, 0, 0.0625, 25.5, 124.9375])
    func generatedScratchpadsRoundTrip(_ celsius: Double) throws {
        let (pad, milli) = W1Therm.ds18b20Scratchpad(celsius: celsius)
        let r = try W1Therm.parse(W1Therm.render(scratchpad: pad, milliCelsius: milli), path: "w1_slave")
        // The kernel prints whole millidegrees (62.5 m°C steps truncate).
        #expect(abs(r.celsius - celsius) < 0.001)
        #expect(r.scratchpad == pad)
    }

    @Test func generatorClampsWhatTheChipCannotHold() {
        #expect(W1Therm.ds18b20Scratchpad(celsius: 1000).milliCelsius == 125_000)
        #expect(W1Therm.ds18b20Scratchpad(celsius: -.infinity).milliCelsius == -55_000)
        #expect(W1Therm.ds18b20Scratchpad(celsius: .nan).milliCelsius == 0)
    }

    @Test func kernelNOIsRefusedEvenWithAValidCRC() {
        let text = Self.good.replacingOccurrences("YES", "NO")
        #expect(throws: SensorError.crcReportedBad(path: "p")) { try W1Therm.parse(text, path: "p") }
    }

    @Test func crcMismatchIsCaughtEvenWhenTheKernelSaysYES() {
        // One bit flipped in the temperature LSB on both lines; the kernel text still says YES.
        let text = Self.good.replacingOccurrences("72 01", "73 01")
        #expect(throws: SensorError.crcMismatch(path: "p", expected: 0x57, computed: CRC8.dallas([0x73, 0x01, 0x4B, 0x46, 0x7F, 0xFF, 0x0E, 0x10]))) {
            try W1Therm.parse(text, path: "p")
        }
    }

    @Test func powerOnResetValueIsRefused() {
        let text = "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n"
        #expect(throws: SensorError.powerOnReset(path: "p")) { try W1Therm.parse(text, path: "p") }
    }

    @Test func allZeroScratchpadIsADisconnectedSensor() {
        let text = "00 00 00 00 00 00 00 00 00 : crc=00 YES\n00 00 00 00 00 00 00 00 00 t=0\n"
        #expect(throws: SensorError.disconnected(path: "p")) { try W1Therm.parse(text, path: "p") }
    }

    @Test func outOfSpecTemperatureIsRefused() {
        let text = Self.good.replacingOccurrences("t=23125", "t=130000")
        let error = #expect(throws: SensorError.self) { try W1Therm.parse(text, path: "p") }
        #expect(error?.code == "outOfRange")
    }

    @Test(arguments: [
        "", "\n\n", "garbage", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n",  // one line
        "72 01 4b 46 7f ff 0e 10 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 t=23125\n",  // 8 bytes
        "72 01 4b 46 7f ff 0e 10 zz : crc=57 YES\n72 01 4b 46 7f ff 0e 10 zz t=23125\n",  // not hex
        "72 01 4b 46 7f ff 0e 10 57 crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",  // no colon
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n72 01 4b 46 7f ff 0e 10 57 t=23125\n",
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57\n",  // no t=
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=\n",
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=2x3\n",
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23.125\n",
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n73 01 4b 46 7f ff 0e 10 57 t=23125\n",  // lines differ
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=99999999999999999999999\n",
        "7201 4b 46 7f ff 0e 10 57 57 : crc=57 YES\n7201 4b 46 7f ff 0e 10 57 57 t=23125\n",
    ])
    func garbageIsATypedError(_ text: String) {
        #expect(throws: SensorError.self) { try W1Therm.parse(text, path: "p") }
    }

    @Test func acceptsCRLFAndTrailingBlankLines() throws {
        let text = Self.good.replacingOccurrences("\n", "\r\n") + "\n\n"
        #expect(try W1Therm.parse(text, path: "p").milliCelsius == 23125)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

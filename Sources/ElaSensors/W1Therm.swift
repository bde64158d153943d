/// The `w1_slave` file of a 1-wire thermometer (DS18B20 and its `w1_therm` relatives):
///
///     72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
///     72 01 4b 46 7f ff 0e 10 57 t=23125
///
/// Line 1 is the 9-byte scratchpad with the kernel's CRC verdict, line 2 the same bytes and the temperature in
/// millidegrees Celsius. The CRC is checked here too: the verdict text is not trusted on its own.
public struct W1Therm: Sendable, Equatable {
    /// The 9 scratchpad bytes (8 data bytes then their CRC-8).
    public var scratchpad: [UInt8]
    /// The kernel's temperature, millidegrees Celsius.
    public var milliCelsius: Int

    public var celsius: Double { Double(milliCelsius) / 1000 }

    /// Family codes of the thermometers the kernel's `w1_therm` driver serves (DS18S20, DS1822, DS18B20, DS1825,
    /// DS28EA00); they all write the same `w1_slave` format.
    public static let families: Set<String> = ["10", "22", "28", "3b", "42"]

    /// The DS18B20's power-on reset value. A real 85.000 °C reading is indistinguishable and also refused.
    public static let powerOnResetMilliCelsius = 85_000
    /// The DS18B20's specified measuring range.
    public static let range: ClosedRange<Double> = -55...125

    /// Parses and checks a `w1_slave` file. Throws `.crcReportedBad` (kernel said NO), `.disconnected` (all-zero
    /// scratchpad, whose CRC is trivially valid), `.crcMismatch`, `.powerOnReset` (85 °C), `.outOfRange`, `.malformed`.
    public static func parse(_ text: String, path: String) throws(SensorError) -> W1Therm {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { $0.trimmingASCIIWhitespace() }
            .filter { !$0.isEmpty }
        guard lines.count == 2 else { throw .malformed(path: path, reason: "expected 2 lines, found \(lines.count)") }

        // Line 1: "<9 hex bytes> : crc=<hex> YES|NO"
        let head = lines[0].split(separator: ":", maxSplits: 1)
        guard head.count == 2 else { throw .malformed(path: path, reason: "line 1 has no ': crc=..' verdict") }
        let scratchpad = try bytes(head[0], path: path)
        let verdict = head[1].split(separator: " ")
        guard verdict.count == 2, verdict[0].hasPrefix("crc="), verdict[1] == "YES" || verdict[1] == "NO" else {
            throw .malformed(path: path, reason: "line 1 verdict is \"\(excerpt(head[1]))\", expected \"crc=XX YES|NO\"")
        }

        // Line 2: "<9 hex bytes> t=<millidegrees>"
        let tail = lines[1].split(separator: " ")
        guard let last = tail.last, last.hasPrefix("t=") else { throw .malformed(path: path, reason: "line 2 has no t=<value>") }
        let repeated = try bytes(lines[1].dropLast(last.count), path: path)
        guard repeated == scratchpad else { throw .malformed(path: path, reason: "the two lines carry different scratchpads") }

        if verdict[1] == "NO" { throw .crcReportedBad(path: path) }
        if scratchpad.allSatisfy({ $0 == 0 }) { throw .disconnected(path: path) }
        let computed = CRC8.dallas(scratchpad[0..<8])
        guard computed == scratchpad[8] else { throw .crcMismatch(path: path, expected: scratchpad[8], computed: computed) }

        let tText = last.dropFirst(2)
        guard SysfsNumber.isPlainDecimal(tText), !tText.contains("."), let milli = Int(tText) else {
            throw .notNumeric(path: path, content: excerpt(tText))
        }
        if milli == powerOnResetMilliCelsius { throw .powerOnReset(path: path) }
        let celsius = Double(milli) / 1000
        guard range.contains(celsius) else { throw .outOfRange(sensor: path, value: celsius, range: range, unit: "celsius") }
        return W1Therm(scratchpad: scratchpad, milliCelsius: milli)
    }

    /// Exactly 9 space-separated two-digit hex bytes.
    static func bytes(_ text: Substring, path: String) throws(SensorError) -> [UInt8] {
        let tokens = text.split(separator: " ")
        guard tokens.count == 9 else { throw .malformed(path: path, reason: "expected 9 scratchpad bytes, found \(tokens.count)") }
        var out: [UInt8] = []
        for token in tokens {
            guard token.utf8.count == 2, let b = UInt8(token, radix: 16) else {
                throw .malformed(path: path, reason: "\"\(excerpt(token))\" is not a hex byte")
            }
            out.append(b)
        }
        return out
    }

    /// Renders a `w1_slave` file the way the kernel does (for the simulated tree and tests).
    public static func render(scratchpad: [UInt8], milliCelsius: Int, kernelSaysCRCValid: Bool = true) -> String {
        let bytes = scratchpad.map { String(hex($0).dropFirst(2)) }.joined(separator: " ")
        let crc = scratchpad.last.map { String(hex($0).dropFirst(2)) } ?? "00"
        return "\(bytes) : crc=\(crc) \(kernelSaysCRCValid ? "YES" : "NO")\n\(bytes) t=\(milliCelsius)\n"
    }

    /// A DS18B20 scratchpad (12-bit resolution) holding `celsius` (clamped to the chip's range; NaN reads as 0),
    /// with its CRC-8: what the chip would answer.
    public static func ds18b20Scratchpad(celsius: Double) -> (scratchpad: [UInt8], milliCelsius: Int) {
        let clamped = celsius.isNaN ? 0 : min(max(celsius, range.lowerBound), range.upperBound)
        let raw = Int16((clamped * 16).rounded())  // 1/16 °C per LSB
        let bits = UInt16(bitPattern: raw)
        var data: [UInt8] = [UInt8(bits & 0xFF), UInt8(bits >> 8), 0x4B, 0x46, 0x7F, 0xFF, 0x0C, 0x10]
        data.append(CRC8.dallas(data[...]))
        return (data, Int(raw) * 1000 / 16)
    }
}

/// The Dallas/Maxim 1-wire CRC-8 (polynomial x^8 + x^5 + x^4 + 1, reflected 0x8C, initial value 0).
public enum CRC8 {
    public static func dallas(_ bytes: ArraySlice<UInt8>) -> UInt8 {
        var crc: UInt8 = 0
        for byte in bytes {
            var b = byte
            for _ in 0..<8 {
                let mix = (crc ^ b) & 1
                crc >>= 1
                if mix != 0 { crc ^= 0x8C }
                b >>= 1
            }
        }
        return crc
    }
}

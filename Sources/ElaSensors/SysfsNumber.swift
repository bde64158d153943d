/// Strict parsing of the numbers the kernel writes into sysfs attribute files.
public enum SysfsNumber {
    /// Parses a decimal number as IIO and hwmon print it: optional sign, digits, optional fraction
    /// (`23125`, `-4`, `0.001000000`, `101.325000`), surrounded by optional whitespace and a newline.
    /// `nan`, `inf`, hex, exponents, empty files and trailing garbage are refused (`Double(_:)` would accept some).
    public static func parse(_ text: String, path: String) throws(SensorError) -> Double {
        let trimmed = text.trimmingASCIIWhitespace()
        guard isPlainDecimal(trimmed), let value = Double(String(trimmed)), value.isFinite else {
            throw .notNumeric(path: path, content: excerpt(trimmed))
        }
        return value
    }

    /// Reads and parses one attribute file.
    public static func read(_ path: String) throws(SensorError) -> Double {
        try parse(try SysfsIO.readText(path), path: path)
    }

    /// Reads an optional attribute (a scale or offset): nil when the file is absent.
    static func readOptional(_ path: String?) throws(SensorError) -> Double? {
        guard let path else { return nil }
        do { return try read(path) } catch .missingFile { return nil }
    }

    static func isPlainDecimal(_ s: Substring) -> Bool {
        var bytes = s.utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        guard !bytes.isEmpty, bytes.count <= 64 else { return false }
        var digits = 0
        var dots = 0
        for b in bytes {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits += 1
            } else if b == UInt8(ascii: ".") {
                dots += 1
            } else {
                return false
            }
        }
        return digits > 0 && dots <= 1
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, newlines and NULs (sysfs values end in "\n").
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" || $0 == "\0" }
        let s = Substring(self)
        guard let start = s.firstIndex(where: { !isSpace($0) }), let end = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return s[start...end]
    }
}

/// Formats a finite Double as Java's `Double.toString` does (shortest round-trip digits, JDK 19+):
/// plain notation with at least one fraction digit for 1e-3 <= |x| < 1e7, otherwise `d.dddE±n`.
/// Jackson writes doubles this way, so numbers inside signed Elastos JSON must follow it.
enum JavaDoubleFormat {
    static func string(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, exponent) = decompose(value)
        var out = negative ? "-" : ""
        // value = 0.d1d2d3... * 10^exponent
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e7 {
            if exponent <= 0 {
                out += "0." + String(repeating: "0", count: -exponent) + digits
            } else if exponent >= digits.count {
                out += digits + String(repeating: "0", count: exponent - digits.count) + ".0"
            } else {
                let i = digits.index(digits.startIndex, offsetBy: exponent)
                out += digits[..<i] + "." + digits[i...]
            }
        } else {
            let first = digits.prefix(1)
            let rest = digits.dropFirst()
            out += first + "." + (rest.isEmpty ? "0" : rest) + "E" + String(exponent - 1)
        }
        return out
    }

    /// Shortest round-trip decimal digits (from Swift's own shortest formatting) and the decimal exponent
    /// such that value = 0.digits * 10^exponent.
    private static func decompose(_ value: Double) -> (Bool, String, Int) {
        var text = abs(value).description  // e.g. "9.5", "1e-05", "1.2345e+20", "100.0"
        var exp10 = 0
        if let eIndex = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp10 = Int(text[text.index(after: eIndex)...]) ?? 0
            text = String(text[..<eIndex])
        }
        var intPart = text
        var fracPart = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            fracPart = String(text[text.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var exponent = intPart.count + exp10
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (value.sign == .minus, digits, exponent)
    }
}

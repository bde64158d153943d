import ElaTOML

/// Compares a decoded TOML value with toml-test's tagged JSON the way toml-test does: floats numerically
/// (nan equals nan), date-times by value (`Z` = `+00:00`, `t`/space = `T`, trailing fraction zeros ignored).
enum TaggedJSONComparison {
    /// nil when equal, else a description of the first difference.
    static func difference(_ value: TOMLValue, _ expected: MiniJSON, at path: String = "") -> String? {
        let here = path.isEmpty ? "<root>" : path
        if case .object(let members) = expected, members.count == 2,
            case .string(let type)? = members["type"], case .string(let text)? = members["value"]
        {
            return scalarDifference(value, type: type, text: text, at: here)
        }
        switch (value, expected) {
        case (.table(let table), .object(let members)):
            let have = Set(table.keys)
            let want = Set(members.keys)
            if have != want {
                return "\(here): keys differ: extra \(have.subtracting(want).sorted()), missing \(want.subtracting(have).sorted())"
            }
            for key in table.keys {
                guard let child = table[key], let expectedChild = members[key] else { continue }
                if let difference = difference(child, expectedChild, at: path.isEmpty ? key : path + "." + key) {
                    return difference
                }
            }
            return nil
        case (.array(let elements), .array(let expectedElements)):
            guard elements.count == expectedElements.count else {
                return "\(here): array has \(elements.count) elements, expected \(expectedElements.count)"
            }
            for (offset, pair) in zip(elements, expectedElements).enumerated() {
                if let difference = difference(pair.0, pair.1, at: "\(path)[\(offset)]") { return difference }
            }
            return nil
        default:
            return "\(here): got \(value), expected \(expected)"
        }
    }

    private static func scalarDifference(_ value: TOMLValue, type: String, text: String, at path: String) -> String? {
        let ok: Bool
        switch (type, value) {
        case ("string", .string(let string)): ok = string == text
        case ("integer", .integer(let integer)): ok = Int64(text) == integer
        case ("float", .float(let float)):
            switch text {
            case "nan", "+nan", "-nan": ok = float.isNaN
            case "inf", "+inf": ok = float == .infinity
            case "-inf": ok = float == -.infinity
            default: ok = Double(text) == float
            }
        case ("bool", .bool(let bool)): ok = text == String(bool)
        case ("datetime", .offsetDateTime(let dateTime)): ok = normalized(text) == normalized(dateTime.description)
        case ("datetime-local", .localDateTime(let dateTime)): ok = normalized(text) == normalized(dateTime.description)
        case ("date-local", .localDate(let date)): ok = normalized(text) == normalized(date.description)
        case ("time-local", .localTime(let time)): ok = normalized(text) == normalized(time.description)
        default: ok = false
        }
        return ok ? nil : "\(path): got \(value), expected \(type) \(text)"
    }

    /// Canonical spelling of an RFC 3339 value for comparison.
    static func normalized(_ text: String) -> String {
        var result = String(text.map { character -> Character in
            switch character {
            case "t", " ": "T"
            case "z": "Z"
            default: character
            }
        })
        for zero in ["+00:00", "-00:00"] where result.hasSuffix(zero) {
            result = String(result.dropLast(zero.count)) + "Z"
        }
        // Drop trailing zeros of a fraction ("56.600Z" -> "56.6Z", "56.000" -> "56").
        guard let dot = result.firstIndex(of: ".") else { return result }
        var fractionEnd = result.index(after: dot)
        while fractionEnd < result.endIndex, result[fractionEnd].isNumber { fractionEnd = result.index(after: fractionEnd) }
        var fraction = String(result[result.index(after: dot)..<fractionEnd])
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return String(result[..<dot]) + (fraction.isEmpty ? "" : "." + fraction) + String(result[fractionEnd...])
    }
}

#if canImport(Glibc)
    import Glibc
#endif
import ElaTestSupport

/// Locates the shared SPV vectors: `$ELA_TESTDATA`, else `<repo>/../shared/testdata` (repo = three levels above
/// this file), then `spv/`.
enum TestData {
    static var root: String { ElaTestSupport.TestData.root }

    static func path(_ name: String) -> String { root + "/spv/" + name }

    static func exists(_ name: String) -> Bool { access(path(name), R_OK) == 0 }

    /// Whole file, or nil if it can't be opened.
    static func read(_ name: String) -> [UInt8]? { ElaTestSupport.TestData.read(path(name)) }

    static func text(_ name: String) -> String? { read(name).map { String(decoding: $0, as: UTF8.self) } }

    /// CSV rows as dictionaries keyed by the header line.
    static func csv(_ name: String) -> [[String: String]] {
        guard let t = text(name) else { return [] }
        let lines = t.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init)
        guard let header = lines.first?.split(separator: ",").map(String.init) else { return [] }
        return lines.dropFirst().map { line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            var row: [String: String] = [:]
            for (i, key) in header.enumerated() where i < cells.count { row[key] = cells[i] }
            return row
        }
    }

    /// Every string value of `"key": "…"` in a JSON text, in document order (enough for the flat vector files).
    static func jsonStrings(_ key: String, in json: String) -> [String] {
        var out: [String] = []
        let needle = Array("\"\(key)\"".utf8)
        let bytes = Array(json.utf8)
        var i = 0
        while i + needle.count <= bytes.count {
            if Array(bytes[i..<(i + needle.count)]) == needle {
                var j = i + needle.count
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x3A { j += 1 }
                if j < bytes.count, bytes[j] == 0x22 {
                    var k = j + 1
                    while k < bytes.count, bytes[k] != 0x22 { k += 1 }
                    out.append(String(decoding: bytes[(j + 1)..<k], as: UTF8.self))
                    i = k
                }
            }
            i += 1
        }
        return out
    }

    /// Every JSON string value made only of hex digits (at least 64 of them).
    static func hexStrings(in json: String) -> [String] {
        var out: [String] = []
        var current: [UInt8] = []
        var inString = false
        for b in json.utf8 {
            if b == 0x22 {
                if inString, current.count >= 64,
                    current.allSatisfy({
                        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46)
                    })
                {
                    out.append(String(decoding: current, as: UTF8.self))
                }
                inString.toggle()
                current.removeAll(keepingCapacity: true)
            } else if inString {
                current.append(b)
            }
        }
        return out
    }

    /// Every integer value of `"key": 123` in a JSON text.
    static func jsonInts(_ key: String, in json: String) -> [Int] {
        var out: [Int] = []
        let needle = Array("\"\(key)\"".utf8)
        let bytes = Array(json.utf8)
        var i = 0
        while i + needle.count <= bytes.count {
            if Array(bytes[i..<(i + needle.count)]) == needle {
                var j = i + needle.count
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x3A { j += 1 }
                var value = 0
                var digits = 0
                while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39 {
                    value = value * 10 + Int(bytes[j] - 0x30)
                    digits += 1
                    j += 1
                }
                if digits > 0 { out.append(value) }
            }
            i += 1
        }
        return out
    }
}

/// Hex helpers for tests.
func hexBytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var high: UInt8?
    for c in hex.utf8 {
        let v: UInt8
        switch c {
        case 0x30...0x39: v = c - 0x30
        case 0x61...0x66: v = c - 0x61 + 10
        case 0x41...0x46: v = c - 0x41 + 10
        default: continue
        }
        if let h = high {
            out.append(h << 4 | v)
            high = nil
        } else {
            high = v
        }
    }
    return out
}

func hex(_ b: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for x in b {
        out.append(digits[Int(x >> 4)])
        out.append(digits[Int(x & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

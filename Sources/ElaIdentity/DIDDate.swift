/// A UTC timestamp with one-second resolution, written `yyyy-MM-dd'T'HH:mm:ss'Z'` as the SDKs do.
public struct DIDDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var secondsSince1970: Int64

    public init(secondsSince1970: Int64) { self.secondsSince1970 = secondsSince1970 }

    /// Parses `2021-11-20T09:55:44Z`, also with fractional seconds (`.SSS`, truncated) as the SDK parser accepts.
    public init(_ text: String) throws(DIDError) {
        let b = Array(text.utf8)
        func fail() -> DIDError { DIDError(.malformed, "invalid date '\(text)', expected yyyy-MM-ddTHH:mm:ssZ") }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b.last == UInt8(ascii: "Z")
        else { throw fail() }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
            let s = num(17..<19)
        else { throw fail() }
        if b.count > 20 {
            // Fraction: '.' then 1...9 digits before 'Z'.
            guard b[19] == UInt8(ascii: "."), b.count - 21 >= 1, b.count - 21 <= 9, num(20..<(b.count - 1)) != nil else {
                throw fail()
            }
        }
        guard (1...12).contains(mo), d >= 1, d <= DIDDate.daysInMonth(y, mo), h < 24, mi < 60, s < 60 else { throw fail() }
        let days = DIDDate.daysFromCivil(y, mo, d)
        secondsSince1970 = Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s)
    }

    /// The earliest and latest times the format can write (0001-01-01T00:00:00Z, 9999-12-31T23:59:59Z).
    public static let writableSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// ISO 8601 in UTC. A time outside ``writableSeconds`` (only a caller's arbitrary number can be) is written as
    /// the nearest end of that range: the arithmetic must not overflow, on 32-bit boards either.
    public var description: String {
        let seconds = min(max(secondsSince1970, Self.writableSeconds.lowerBound), Self.writableSeconds.upperBound)
        let days = Int(seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
        let rem = Int(seconds - Int64(days) * 86400)
        let (y, m, d) = DIDDate.civilFromDays(days)
        if (0...9999).contains(y) {
            // Digits into a fixed buffer: normalizing a document writes every date, and interpolation cost ~1 µs each.
            var b = [UInt8](repeating: 0, count: 20)
            func put(_ v: Int, at i: Int, width: Int) {
                var v = v
                for k in stride(from: i + width - 1, through: i, by: -1) {
                    b[k] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(y, at: 0, width: 4)
            put(m, at: 5, width: 2)
            put(d, at: 8, width: 2)
            put(rem / 3600, at: 11, width: 2)
            put(rem / 60 % 60, at: 14, width: 2)
            put(rem % 60, at: 17, width: 2)
            (b[4], b[7], b[10], b[13], b[16], b[19]) = (0x2D, 0x2D, 0x54, 0x3A, 0x3A, 0x5A)  // - - T : : Z
            return String(decoding: b, as: UTF8.self)
        }
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))Z"
    }

    public static func < (l: DIDDate, r: DIDDate) -> Bool { l.secondsSince1970 < r.secondsSince1970 }

    public func adding(seconds: Int64) -> DIDDate { DIDDate(secondsSince1970: secondsSince1970 + seconds) }

    /// Same day and time, `years` later (Feb 29 becomes Feb 28), as Java's Calendar.add(YEAR) does.
    public func adding(years: Int) -> DIDDate {
        let days = Int(secondsSince1970 / 86400)
        let rem = secondsSince1970 - Int64(days) * 86400
        let (y, m, d) = DIDDate.civilFromDays(days)
        let ny = y + years
        let nd = min(d, DIDDate.daysInMonth(ny, m))
        return DIDDate(secondsSince1970: Int64(DIDDate.daysFromCivil(ny, m, nd)) * 86400 + rem)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    }
    // Howard Hinnant's civil-date algorithms.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

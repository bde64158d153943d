/// Unicode Normalization Form KD without Foundation or ICU, for BIP39 (which NFKD-normalizes the mnemonic and
/// the passphrase before PBKDF2).
///
/// The standard library exposes no compatibility decomposition (its `_nfd` is SPI and canonical-only), so the
/// full decompositions come from a generated table (`NFKDTable.swift`, Unicode 15.0 from ICU 72). Hangul syllables
/// are decomposed algorithmically, and canonical ordering uses the standard library's `canonicalCombiningClass`.
/// A scalar assigned after Unicode 15.0 cannot be normalized with certainty, so it is reported instead of being
/// passed through; unassigned code points have no decomposition and are kept as they are.
public enum UnicodeNFKD {
    /// Returns the NFKD form of `text`, or the first scalar assigned after the table's Unicode version.
    public static func normalize(_ text: String) -> Result<String, UnsupportedScalar> {
        var output = String.UnicodeScalarView()
        var pendingMarks: [(scalar: Unicode.Scalar, combiningClass: UInt8)] = []
        // Canonical ordering: runs of non-starters are stably sorted by combining class.
        func flushMarks() {
            guard !pendingMarks.isEmpty else { return }
            if pendingMarks.count > 1 {
                pendingMarks = pendingMarks.enumerated()
                    .sorted { ($0.element.combiningClass, $0.offset) < ($1.element.combiningClass, $1.offset) }
                    .map(\.element)
            }
            output.append(contentsOf: pendingMarks.map(\.scalar))
            pendingMarks.removeAll(keepingCapacity: true)
        }
        func emit(_ scalar: Unicode.Scalar) {
            let combiningClass = scalar.isASCII ? 0 : scalar.properties.canonicalCombiningClass.rawValue
            if combiningClass == 0 {
                flushMarks()
                output.append(scalar)
            } else {
                pendingMarks.append((scalar, combiningClass))
            }
        }

        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                emit(scalar)
            } else if let jamo = hangulDecomposition(scalar) {
                jamo.forEach(emit)
            } else if let mapped = table[scalar.value] {
                for value in mapped {
                    // The table only holds valid scalars; skipping is unreachable but avoids a force unwrap.
                    if let decomposed = Unicode.Scalar(value) { emit(decomposed) }
                }
            } else {
                if let age = scalar.properties.age,
                    (age.major, age.minor) > (tableVersion.major, tableVersion.minor)
                {
                    return .failure(UnsupportedScalar(scalar: scalar, assignedIn: "\(age.major).\(age.minor)"))
                }
                emit(scalar)
            }
        }
        flushMarks()
        return .success(String(output))
    }

    /// A scalar newer than the decomposition table, so its NFKD form is unknown to this build.
    public struct UnsupportedScalar: Error, Sendable, Equatable, CustomStringConvertible {
        public let scalar: Unicode.Scalar
        /// The Unicode version that assigned the scalar ("16.0").
        public let assignedIn: String

        public var description: String {
            "U+\(String(scalar.value, radix: 16, uppercase: true)) was assigned in Unicode \(assignedIn), newer than "
                + "this build's NFKD table (Unicode \(tableVersion.major).\(tableVersion.minor)); its normalized form is unknown"
        }
    }

    // Hangul syllable decomposition (Unicode §3.12).
    private static func hangulDecomposition(_ scalar: Unicode.Scalar) -> [Unicode.Scalar]? {
        let sBase: UInt32 = 0xAC00, lBase: UInt32 = 0x1100, vBase: UInt32 = 0x1161, tBase: UInt32 = 0x11A7
        let tCount: UInt32 = 28, nCount: UInt32 = 588, sCount: UInt32 = 11172
        guard scalar.value >= sBase, scalar.value < sBase + sCount else { return nil }
        let index = scalar.value - sBase
        var values = [lBase + index / nCount, vBase + (index % nCount) / tCount]
        if index % tCount != 0 { values.append(tBase + index % tCount) }
        return values.compactMap(Unicode.Scalar.init)
    }

    /// The decoded table: scalar value -> full decomposition. Built once, on first non-ASCII use.
    static let table: [UInt32: [UInt32]] = {
        var table: [UInt32: [UInt32]] = [:]
        table.reserveCapacity(6000)
        for entry in encodedTable.split(whereSeparator: { $0 == ";" || $0 == "\n" }) {
            let trimmed = entry.drop { $0 == " " }
            guard let colon = trimmed.firstIndex(of: ":"), let key = UInt32(trimmed[..<colon], radix: 16) else { continue }
            table[key] = trimmed[trimmed.index(after: colon)...].split(separator: " ").compactMap { UInt32($0, radix: 16) }
        }
        return table
    }()
}

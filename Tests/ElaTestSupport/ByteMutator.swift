#if canImport(Glibc)
import Glibc
#endif

/// Mutation fuzzing for decoders: takes real, valid inputs and breaks them the ways that find bugs (bit flips,
/// boundary bytes, lengths cut or repeated, tokens of the format dropped in, pieces of another input spliced in).
/// Seeded, so a failure reproduces. A decoder under test must return a value or throw its typed error, never trap.
///
/// The number of inputs per test is `rounds(default:)`: small in `make test`, larger with `ELA_FUZZ_ROUNDS=N` for a
/// longer hunt (`ELA_FUZZ_SEED=S` changes the inputs).
public struct ByteMutator {
    public var generator: SplitMix64
    /// Tokens of the format under test (e.g. `\u`, `1e400`, `[[[[`): inserted or overwritten whole.
    public var tokens: [[UInt8]]

    public init(seed: UInt64, tokens: [String] = []) {
        generator = SplitMix64(seed: seed ^ Self.seedFromEnvironment)
        self.tokens = tokens.map { Array($0.utf8) }
    }

    /// `ELA_FUZZ_ROUNDS`, else `default`.
    public static func rounds(default count: Int) -> Int {
        guard let text = environment("ELA_FUZZ_ROUNDS"), let n = Int(text), n > 0 else { return count }
        return n
    }

    static var seedFromEnvironment: UInt64 { environment("ELA_FUZZ_SEED").flatMap { UInt64($0) } ?? 0 }

    /// Boundary bytes: zero, sign bits, all ones, and structure characters of text formats.
    static let interestingBytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0xFE, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2D, 0x30, 0x39, 0x0A, 0x20, 0xC3, 0xED, 0xF0, 0xF4]
    /// Boundary values for length and count fields, little-endian.
    static let interestingWords: [[UInt8]] = [
        [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0x80], [0xFF, 0xFF, 0xFF, 0x7F], [0xFD, 0xFF, 0xFF], [0xFE, 0xFF, 0xFF, 0xFF, 0xFF],
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0],
    ]

    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

    /// One to four mutations of `input`; `others` may be spliced in.
    public mutating func mutate(_ input: [UInt8], splicing others: [[UInt8]] = []) -> [UInt8] {
        var bytes = input
        for _ in 0..<int(1...4) { mutateOnce(&bytes, others) }
        return bytes
    }

    mutating func mutateOnce(_ bytes: inout [UInt8], _ others: [[UInt8]]) {
        let position = bytes.isEmpty ? 0 : int(0...bytes.count - 1)
        switch int(0...10) {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= UInt8(1) << UInt8(int(0...7))
        case 1 where !bytes.isEmpty:
            bytes[position] = Self.interestingBytes[int(0...Self.interestingBytes.count - 1)]
        case 2:
            bytes.insert(UInt8(truncatingIfNeeded: int(0...255)), at: min(position, bytes.count))
        case 3 where !bytes.isEmpty:
            bytes.removeSubrange(position..<min(bytes.count, position + int(1...16)))
        case 4 where !bytes.isEmpty:
            // Truncate: decoders meet cut-off input on every socket.
            bytes.removeSubrange(position...)
        case 5 where !bytes.isEmpty:
            // Repeat a piece: nesting, duplicate keys, lengths that no longer match.
            let piece = Array(bytes[position..<min(bytes.count, position + int(1...64))])
            let copies = int(1...3) == 1 ? int(2...200) : 1
            for _ in 0..<copies { bytes.insert(contentsOf: piece, at: position) }
        case 6 where !tokens.isEmpty:
            bytes.insert(contentsOf: tokens[int(0...tokens.count - 1)], at: min(position, bytes.count))
        case 7 where !tokens.isEmpty && !bytes.isEmpty:
            let token = tokens[int(0...tokens.count - 1)]
            bytes.replaceSubrange(position..<min(bytes.count, position + token.count), with: token)
        case 8 where !bytes.isEmpty:
            let word = Self.interestingWords[int(0...Self.interestingWords.count - 1)]
            bytes.replaceSubrange(position..<min(bytes.count, position + word.count), with: word)
        case 9 where !others.isEmpty:
            let other = others[int(0...others.count - 1)]
            guard !other.isEmpty else { return }
            let from = int(0...other.count - 1)
            bytes.replaceSubrange(position..<bytes.count, with: other[from...])
        default:
            if !bytes.isEmpty { bytes.swapAt(position, int(0...bytes.count - 1)) }
        }
    }

    /// Splits `bytes` into random chunks, as a stream socket may deliver them.
    public mutating func chunks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, int(0...3) == 0 ? int(1...8) : int(1...4096))
            out.append(bytes[at..<(at + n)])
            at += n
        }
        return out
    }
}

private func environment(_ name: String) -> String? {
    #if canImport(Glibc)
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
    #else
    return nil
    #endif
}

extension TestData {
    /// The official SDKs' DID documents, credentials and presentations, and derived DID requests: real JSON seeds
    /// for mutation tests. Empty if the shared vectors are missing (callers then test nothing and say so).
    public static var elastosJSONSeeds: [[UInt8]] {
        let java = "elastos-did/java-sdk/v2.2/testdata/"
        let names = [
            "user1.id.json", "user1.id.compact.json", "user4.id.json", "foobar.id.json", "issuer.id.normalized.json",
            "user1.vc.json.json", "user1.vc.passport.json", "user1.vc.twitter.json", "user1.vp.nonempty.json", "user1.vp.empty.json",
        ].map { java + $0 } + ["elastos-did/derived/user4.didrequest.create.json", "elastos-did/derived/user4.didrequest.update.json"]
        return names.compactMap { read(path($0)) }
    }
}

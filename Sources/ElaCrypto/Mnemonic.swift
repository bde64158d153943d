internal import Crypto

/// A BIP39 mnemonic over the English word list: 12, 15, 18, 21 or 24 words carrying 128-256 bits of entropy
/// plus a SHA-256 checksum. The Elastos SDKs turn it into an HD root with `seed(passphrase:)`.
///
/// Normalization: BIP39 feeds NFKD(phrase) and NFKD("mnemonic" + passphrase) to PBKDF2. Both go through
/// `UnicodeNFKD` (full NFKD, Unicode 15.0 data). ASCII input is unchanged by NFKD. A passphrase containing a scalar
/// assigned after Unicode 15.0 is rejected (`MnemonicError.Kind.unsupportedCharacter`) rather than risking
/// a seed other wallets would not reproduce.
public struct Mnemonic: Sendable {
    /// The words, lower case, in order.
    public private(set) var words: [String]

    /// The words joined by single ASCII spaces: the exact string that is hashed into the seed.
    public var phrase: String { words.joined(separator: " ") }

    /// The allowed word counts.
    public static let validWordCounts = [12, 15, 18, 21, 24]

    /// Parses and validates a phrase: NFKD, split on any whitespace (so runs of spaces, tabs, newlines and the
    /// ideographic space all work), ASCII-lowercased, every word in the English list, valid count and checksum.
    public init(phrase: String) throws(MnemonicError) {
        let normalized: String
        switch UnicodeNFKD.normalize(phrase) {
        case .success(let text): normalized = text
        case .failure(let unsupported): throw MnemonicError(.unsupportedCharacter(unsupported))
        }
        let words = normalized.split(whereSeparator: \.isWhitespace).map { String($0).lowercased() }
        guard Self.validWordCounts.contains(words.count) else { throw MnemonicError(.wrongWordCount(words.count)) }
        var bits: [Bool] = []
        bits.reserveCapacity(words.count * 11)
        for (position, word) in words.enumerated() {
            guard let index = Self.wordIndex[word] else { throw MnemonicError(.unknownWord(word, position: position + 1)) }
            for shift in stride(from: 10, through: 0, by: -1) { bits.append(index >> shift & 1 == 1) }
        }
        let checksumBits = words.count / 3
        let entropyBits = bits.count - checksumBits
        var entropy = [UInt8](repeating: 0, count: entropyBits / 8)
        for bitIndex in 0..<entropyBits where bits[bitIndex] {
            entropy[bitIndex / 8] |= 0x80 >> UInt8(bitIndex % 8)
        }
        let expected = Self.checksumBits(of: entropy, count: checksumBits)
        defer { for index in entropy.indices { entropy[index] = 0 } }
        guard Array(bits[entropyBits...]) == expected else { throw MnemonicError(.badChecksum) }
        self.words = words
    }

    /// Encodes 16, 20, 24, 28 or 32 bytes of entropy as 12-24 words.
    public init(entropy: [UInt8]) throws(MnemonicError) {
        guard [16, 20, 24, 28, 32].contains(entropy.count) else { throw MnemonicError(.wrongEntropyLength(entropy.count)) }
        var bits: [Bool] = []
        bits.reserveCapacity(entropy.count * 8 + 8)
        for byte in entropy {
            for shift in stride(from: 7, through: 0, by: -1) { bits.append(byte >> UInt8(shift) & 1 == 1) }
        }
        bits += Self.checksumBits(of: entropy, count: entropy.count / 4)
        words = stride(from: 0, to: bits.count, by: 11).map { start in
            let index = bits[start..<start + 11].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
            return Self.englishWords[index]
        }
    }

    /// A new random mnemonic. `wordCount` should be one of `validWordCounts`; any other value is rounded up to the
    /// next valid count (and clamped to 12...24), so the entropy is never less than asked for.
    public static func generate(wordCount: Int = 12) -> Mnemonic {
        let count = validWordCounts.first { $0 >= wordCount } ?? 24
        var generator = SystemRandomNumberGenerator()  // getrandom(2) on Linux: a CSPRNG
        var entropy = (0..<count * 4 / 3).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        defer { for index in entropy.indices { entropy[index] = 0 } }
        do {
            return try Mnemonic(entropy: entropy)
        } catch {
            // Unreachable: count * 4 / 3 is always 16...32 in steps of 4.
            return generate(wordCount: 12)
        }
    }

    /// The 64-byte BIP39 seed: PBKDF2-HMAC-SHA512(NFKD(phrase), "mnemonic" + NFKD(passphrase), 2048 iterations).
    public func seed(passphrase: String = "") throws(MnemonicError) -> [UInt8] {
        try Self.seed(uncheckedPhrase: phrase, passphrase: passphrase)
    }

    /// The BIP39 seed of any phrase without word-list or checksum validation (for other languages' test vectors
    /// and foreign wallets). Both strings are NFKD-normalized, so "é" and "e\u{301}" give the same seed.
    public static func seed(uncheckedPhrase: String, passphrase: String) throws(MnemonicError) -> [UInt8] {
        let phrase: String, salt: String
        switch UnicodeNFKD.normalize(uncheckedPhrase) {
        case .success(let text): phrase = text
        case .failure(let unsupported): throw MnemonicError(.unsupportedCharacter(unsupported))
        }
        switch UnicodeNFKD.normalize("mnemonic" + passphrase) {
        case .success(let text): salt = text
        case .failure(let unsupported): throw MnemonicError(.unsupportedCharacter(unsupported))
        }
        return PBKDF2.hmacSHA512(password: Array(phrase.utf8), salt: Array(salt.utf8), iterations: 2048, keyLength: 64)
    }

    static let wordIndex: [String: Int] = Dictionary(
        uniqueKeysWithValues: englishWords.enumerated().map { ($0.element, $0.offset) })

    /// The first `count` bits of SHA-256(entropy).
    private static func checksumBits(of entropy: [UInt8], count: Int) -> [Bool] {
        let hash = Array(SHA256.hash(data: entropy))
        return (0..<count).map { hash[$0 / 8] >> UInt8(7 - $0 % 8) & 1 == 1 }
    }
}

/// A mnemonic parse or seed failure.
public struct MnemonicError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not 12, 15, 18, 21 or 24 words.
        case wrongWordCount(Int)
        /// A word outside the BIP39 English list, with its 1-based position.
        case unknownWord(String, position: Int)
        /// All words are valid but the checksum does not match: a word is mistyped or the order is wrong.
        case badChecksum
        /// Entropy that is not 16, 20, 24, 28 or 32 bytes.
        case wrongEntropyLength(Int)
        /// The phrase or passphrase contains a scalar newer than the NFKD table.
        case unsupportedCharacter(UnicodeNFKD.UnsupportedScalar)
    }

    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .wrongWordCount(let count):
            return "mnemonic has \(count) words; BIP39 needs 12, 15, 18, 21 or 24"
        case .unknownWord(let word, let position):
            let hint = Mnemonic.englishWords.filter { $0.hasPrefix(String(word.prefix(4))) }.prefix(3)
            return "mnemonic word \(position) \(word.debugDescription) is not in the BIP39 English list"
                + (hint.isEmpty ? "" : " (did you mean \(hint.joined(separator: ", "))?)")
        case .badChecksum:
            return "mnemonic checksum mismatch: a word is mistyped or the words are out of order"
        case .wrongEntropyLength(let count):
            return "mnemonic entropy must be 16, 20, 24, 28 or 32 bytes, got \(count)"
        case .unsupportedCharacter(let unsupported):
            return "cannot normalize the mnemonic or passphrase: \(unsupported)"
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A BIP37 Bloom filter as Bitcoin Core's `CBloomFilter` builds and tests it. On ELA the same filter goes
/// into `filterload` (with a list of transaction types appended) or `txfilter` type 0.
public struct BloomFilter: Sendable, Hashable {
    /// MAX_BLOOM_FILTER_SIZE: the largest filter a node accepts, in bytes.
    public static let maxFilterBytes = 36_000
    /// MAX_HASH_FUNCS.
    public static let maxHashFunctions: UInt32 = 50
    /// `nFlags` values (how a node updates the filter when an output matches).
    public static let updateNone: UInt8 = 0
    public static let updateAll: UInt8 = 1
    public static let updateP2PubKeyOnly: UInt8 = 2
    /// ELA: a tweak of 0xFFFFFFFF makes a node treat the filter as a side-chain SPV filter (match by
    /// transaction type or output program hash, never update); the Go SPV client sends this.
    public static let elaSideChainTweak: UInt32 = 0xFFFF_FFFF

    static let ln2Squared = 0.4804530139182014246671025263266649717305529515945455
    static let ln2 = 0.6931471805599453094172321214581765680755001343602552

    /// The bit array, bit `i` is `data[i >> 3] & (1 << (i & 7))`.
    public var data: [UInt8]
    /// How many hash functions (bits per element); at most `maxHashFunctions` for a node to accept it.
    public var hashFunctions: UInt32
    /// Added to every hash seed, so two filters over the same elements set different bits.
    public var tweak: UInt32
    /// `nFlags`: `updateNone`, `updateAll` or `updateP2PubKeyOnly`.
    public var flags: UInt8
    /// ELA only: transaction types the node should also match (`filterload` extension); empty on Bitcoin.
    public var txTypes: [UInt8]

    /// A filter from its parts, as carried by `filterload`.
    public init(data: [UInt8], hashFunctions: UInt32, tweak: UInt32, flags: UInt8, txTypes: [UInt8] = []) {
        self.data = data
        self.hashFunctions = hashFunctions
        self.tweak = tweak
        self.flags = flags
        self.txTypes = txTypes
    }

    /// An empty filter sized for `elements` items at `falsePositiveRate`, exactly as Core sizes it:
    /// bytes = min(⌊−n·ln p / ln²2⌋, 36000·8) / 8 and hash functions = min(⌊(bytes·8 / n) · ln 2⌋, 50), where
    /// `bytes·8 / n` is an integer division as in Core (btcd divides in floating point, which can differ by one
    /// hash function for some n). Inputs Core would crash or misbehave on are clamped as btcd does: `elements`
    /// below 1 counts as 1 and the rate is kept within [1e-9, 1].
    public init(elements: Int, falsePositiveRate: Double, tweak: UInt32, flags: UInt8) {
        let n = max(elements, 1)
        let rate = falsePositiveRate.isNaN ? 1.0 : min(max(falsePositiveRate, 1e-9), 1.0)
        let bits = min(-1.0 / Self.ln2Squared * Double(n) * log(rate), Double(Self.maxFilterBytes * 8))
        let byteCount = Int(max(bits, 0)) / 8
        let functions = min(Double(byteCount * 8 / n) * Self.ln2, Double(Self.maxHashFunctions))
        self.init(
            data: [UInt8](repeating: 0, count: byteCount), hashFunctions: UInt32(functions), tweak: tweak,
            flags: flags)
    }

    /// Whether a node would accept this filter (Core `IsWithinSizeConstraints`).
    public var isWithinSizeConstraints: Bool {
        data.count <= Self.maxFilterBytes && hashFunctions <= Self.maxHashFunctions
    }

    /// Sets the `hashFunctions` bits for `element`. An empty filter ignores inserts (Core).
    public mutating func insert(_ element: [UInt8]) {
        guard !data.isEmpty else { return }
        for n in 0..<hashFunctions {
            let bit = bitIndex(n, element)
            data[bit >> 3] |= 1 << UInt8(bit & 7)
        }
    }

    /// True if `element` may have been inserted (false positives at the configured rate), false if it surely
    /// was not. An empty filter matches everything (Core, the CVE-2013-5700 divide-by-zero guard).
    public func contains(_ element: [UInt8]) -> Bool {
        guard !data.isEmpty else { return true }
        for n in 0..<hashFunctions {
            let bit = bitIndex(n, element)
            if data[bit >> 3] & (1 << UInt8(bit & 7)) == 0 { return false }
        }
        return true
    }

    /// Hash function `n`: MurmurHash3 seeded with n·0xFBA4C795 + tweak, reduced to a bit position.
    private func bitIndex(_ n: UInt32, _ element: [UInt8]) -> Int {
        let hash = MurmurHash3.hash32(element, seed: n &* 0xFBA4_C795 &+ tweak)
        return Int(hash % UInt32(data.count * 8))
    }
}

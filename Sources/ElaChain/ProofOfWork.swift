/// Compact ("bits") targets and chain work, as Bitcoin Core's `arith_uint256::SetCompact/GetCompact` and
/// `GetBlockProof`; ELA uses the same encoding (`CompactToBig`/`BigToCompact`).
public enum ProofOfWork {
    /// The target encoded by `bits`, or nil when the encoding is negative or does not fit in 256 bits.
    /// A zero mantissa gives `.zero` (which no chain accepts as a target).
    public static func target(bits: UInt32) -> UInt256? { UInt256(compact: bits) }

    /// Expected number of hashes for a block at `bits`: 2^256 / (target + 1); zero for an invalid or zero target.
    public static func work(bits: UInt32) -> UInt256 {
        guard let target = target(bits: bits) else { return .zero }
        return work(target: target)
    }

    /// 2^256 / (target + 1), computed as ~target / (target + 1) + 1 so it stays within 256 bits.
    public static func work(target: UInt256) -> UInt256 {
        if target.isZero { return .zero }
        if target == .max { return .one }
        let divisor = target &+ .one
        guard let (q, _) = (~target).quotientAndRemainder(dividingBy: divisor) else { return .zero }
        return q &+ .one
    }

    /// The compact encoding of `target` (rounded down to 23 bits of mantissa, never negative).
    public static func compact(_ target: UInt256) -> UInt32 { target.compact }
}

extension UInt256 {
    /// Decodes a compact target exactly as Bitcoin Core's `SetCompact`, reporting the sign and overflow flags.
    public static func decodeCompact(_ bits: UInt32) -> (value: UInt256, isNegative: Bool, overflows: Bool) {
        let size = Int(bits >> 24)
        var word = UInt64(bits & 0x007F_FFFF)
        let value: UInt256
        if size <= 3 {
            word >>= UInt64(8 * (3 - size))
            value = UInt256(word)
        } else {
            value = UInt256(word) << (8 * (size - 3))
        }
        let negative = word != 0 && (bits & 0x0080_0000) != 0
        let overflow = word != 0 && (size > 34 || (word > 0xFF && size > 33) || (word > 0xFFFF && size > 32))
        return (value, negative, overflow)
    }

    /// The target encoded by compact `bits`; nil when the encoding is negative or overflows 256 bits.
    public init?(compact bits: UInt32) {
        let (value, negative, overflow) = UInt256.decodeCompact(bits)
        guard !negative, !overflow else { return nil }
        self = value
    }

    /// Compact encoding (Bitcoin Core `GetCompact`, ELA `BigToCompact` for non-negative numbers).
    public var compact: UInt32 {
        var size = (bitWidth + 7) / 8
        var mantissa: UInt64
        if size <= 3 {
            mantissa = w0 << UInt64(8 * (3 - size))
        } else {
            mantissa = (self >> (8 * (size - 3))).w0
        }
        if mantissa & 0x0080_0000 != 0 {
            mantissa >>= 8
            size += 1
        }
        return UInt32(truncatingIfNeeded: mantissa) | UInt32(size) << 24
    }
}

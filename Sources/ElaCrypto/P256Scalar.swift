/// A 256-bit unsigned integer as 4 little-endian UInt64 limbs, with just the arithmetic BIP32 needs on P-256:
/// range checks against the group order n and addition mod n.
struct P256Scalar: Equatable {
    /// limbs[0] is the least significant 64 bits.
    private(set) var limbs: [UInt64]

    /// The order n of the P-256 base point (SEC 2 / FIPS 186-4).
    static let order = P256Scalar(limbs: [0xF3B9_CAC2_FC63_2551, 0xBCE6_FAAD_A717_9E84, 0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_0000_0000])

    private init(limbs: [UInt64]) { self.limbs = limbs }

    /// Reads 32 big-endian bytes; nil for any other length.
    init?(bigEndian bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        var limbs = [UInt64](repeating: 0, count: 4)
        for (index, byte) in bytes.enumerated() {
            let limb = 3 - index / 8
            limbs[limb] = limbs[limb] << 8 | UInt64(byte)
        }
        self.limbs = limbs
    }

    /// 32 big-endian bytes.
    var bigEndianBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for limb in limbs.reversed() {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: limb >> UInt64(shift))) }
        }
        return bytes
    }

    var isZero: Bool { limbs.allSatisfy { $0 == 0 } }

    /// True when 0 < self < n: a valid P-256 private key.
    var isValidPrivateKey: Bool { !isZero && self < Self.order }

    /// (self + other) mod n, for operands already below n.
    func addingModOrder(_ other: P256Scalar) -> P256Scalar {
        var sum = [UInt64](repeating: 0, count: 4)
        var carry: UInt64 = 0
        for index in 0..<4 {
            let (partial, overflow1) = limbs[index].addingReportingOverflow(other.limbs[index])
            let (total, overflow2) = partial.addingReportingOverflow(carry)
            sum[index] = total
            carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
        }
        var result = P256Scalar(limbs: sum)
        // Both operands are below n, so the true sum is below 2n and one subtraction suffices.
        if carry != 0 || !(result < Self.order) { result = result.subtractingWrapping(Self.order) }
        return result
    }

    /// self - other mod 2^256.
    private func subtractingWrapping(_ other: P256Scalar) -> P256Scalar {
        var difference = [UInt64](repeating: 0, count: 4)
        var borrow: UInt64 = 0
        for index in 0..<4 {
            let (partial, underflow1) = limbs[index].subtractingReportingOverflow(other.limbs[index])
            let (total, underflow2) = partial.subtractingReportingOverflow(borrow)
            difference[index] = total
            borrow = (underflow1 ? 1 : 0) + (underflow2 ? 1 : 0)
        }
        return P256Scalar(limbs: difference)
    }

    static func < (lhs: P256Scalar, rhs: P256Scalar) -> Bool {
        for index in stride(from: 3, through: 0, by: -1) where lhs.limbs[index] != rhs.limbs[index] {
            return lhs.limbs[index] < rhs.limbs[index]
        }
        return false
    }

    /// Overwrites the limbs with zeros (best effort: Swift may have made copies).
    mutating func wipe() { limbs = [0, 0, 0, 0] }
}

/// An unsigned 256-bit integer held in four 64-bit limbs (no heap storage), for PoW targets and chain work.
///
/// Arithmetic operators follow Swift's integer rules: `+`, `-` and `*` trap on overflow, `&+`/`&-` wrap.
/// Code that handles untrusted input uses the `...ReportingOverflow` or saturating forms instead.
public struct UInt256: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Limbs, least significant first.
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = UInt256(w0: 0, w1: 0, w2: 0, w3: 0)
    public static let one = UInt256(w0: 1, w1: 0, w2: 0, w3: 0)
    public static let max = UInt256(w0: .max, w1: .max, w2: .max, w3: .max)

    @inlinable
    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    @inlinable
    public init(_ value: UInt64) { self.init(w0: value, w1: 0, w2: 0, w3: 0) }

    @inlinable
    public var isZero: Bool { (w0 | w1 | w2 | w3) == 0 }

    /// Number of significant bits (0 for zero).
    public var bitWidth: Int {
        if w3 != 0 { return 256 - w3.leadingZeroBitCount }
        if w2 != 0 { return 192 - w2.leadingZeroBitCount }
        if w1 != 0 { return 128 - w1.leadingZeroBitCount }
        return 64 - w0.leadingZeroBitCount
    }

    @inlinable
    public static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        if lhs.w3 != rhs.w3 { return lhs.w3 < rhs.w3 }
        if lhs.w2 != rhs.w2 { return lhs.w2 < rhs.w2 }
        if lhs.w1 != rhs.w1 { return lhs.w1 < rhs.w1 }
        return lhs.w0 < rhs.w0
    }

    // MARK: Addition and subtraction

    @inlinable
    public func addingReportingOverflow(_ rhs: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (a0, c0) = w0.addingReportingOverflow(rhs.w0)
        var (a1, c1) = w1.addingReportingOverflow(rhs.w1)
        if c0 { let (t, c) = a1.addingReportingOverflow(1); a1 = t; c1 = c1 || c }
        var (a2, c2) = w2.addingReportingOverflow(rhs.w2)
        if c1 { let (t, c) = a2.addingReportingOverflow(1); a2 = t; c2 = c2 || c }
        var (a3, c3) = w3.addingReportingOverflow(rhs.w3)
        if c2 { let (t, c) = a3.addingReportingOverflow(1); a3 = t; c3 = c3 || c }
        return (UInt256(w0: a0, w1: a1, w2: a2, w3: a3), c3)
    }

    @inlinable
    public func subtractingReportingOverflow(_ rhs: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (s0, b0) = w0.subtractingReportingOverflow(rhs.w0)
        var (s1, b1) = w1.subtractingReportingOverflow(rhs.w1)
        if b0 { let (t, b) = s1.subtractingReportingOverflow(1); s1 = t; b1 = b1 || b }
        var (s2, b2) = w2.subtractingReportingOverflow(rhs.w2)
        if b1 { let (t, b) = s2.subtractingReportingOverflow(1); s2 = t; b2 = b2 || b }
        var (s3, b3) = w3.subtractingReportingOverflow(rhs.w3)
        if b2 { let (t, b) = s3.subtractingReportingOverflow(1); s3 = t; b3 = b3 || b }
        return (UInt256(w0: s0, w1: s1, w2: s2, w3: s3), b3)
    }

    /// `self + rhs`, or `UInt256.max` when the sum does not fit (chain work never wraps around).
    @inlinable
    public func saturatingAdd(_ rhs: UInt256) -> UInt256 {
        let (sum, overflow) = addingReportingOverflow(rhs)
        return overflow ? .max : sum
    }

    @inlinable
    public static func + (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        precondition(!overflow, "UInt256 addition overflow")
        return sum
    }

    @inlinable
    public static func - (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let (diff, overflow) = lhs.subtractingReportingOverflow(rhs)
        precondition(!overflow, "UInt256 subtraction overflow")
        return diff
    }

    @inlinable
    public static func &+ (lhs: UInt256, rhs: UInt256) -> UInt256 { lhs.addingReportingOverflow(rhs).partialValue }

    @inlinable
    public static func &- (lhs: UInt256, rhs: UInt256) -> UInt256 { lhs.subtractingReportingOverflow(rhs).partialValue }

    @inlinable
    public static func += (lhs: inout UInt256, rhs: UInt256) { lhs = lhs + rhs }

    @inlinable
    public static func -= (lhs: inout UInt256, rhs: UInt256) { lhs = lhs - rhs }

    // MARK: Multiplication and division by a 64-bit value

    /// The full 320-bit product `self * m`, as a high limb and the low 256 bits.
    @inlinable
    public func multipliedFullWidth(by m: UInt64) -> (high: UInt64, low: UInt256) {
        let p0 = w0.multipliedFullWidth(by: m)
        let p1 = w1.multipliedFullWidth(by: m)
        let p2 = w2.multipliedFullWidth(by: m)
        let p3 = w3.multipliedFullWidth(by: m)
        let r0 = p0.low
        let (r1, c1) = p1.low.addingReportingOverflow(p0.high)
        let (r2, c2) = p2.low.addingReportingOverflow(p1.high &+ (c1 ? 1 : 0))
        let (r3, c3) = p3.low.addingReportingOverflow(p2.high &+ (c2 ? 1 : 0))
        let high = p3.high &+ (c3 ? 1 : 0)
        return (high, UInt256(w0: r0, w1: r1, w2: r2, w3: r3))
    }

    @inlinable
    public func multipliedReportingOverflow(by m: UInt64) -> (partialValue: UInt256, overflow: Bool) {
        let (high, low) = multipliedFullWidth(by: m)
        return (low, high != 0)
    }

    @inlinable
    public static func * (lhs: UInt256, rhs: UInt64) -> UInt256 {
        let (product, overflow) = lhs.multipliedReportingOverflow(by: rhs)
        precondition(!overflow, "UInt256 multiplication overflow")
        return product
    }

    /// Quotient and remainder of `self / d`; `d` must not be zero (traps like integer division).
    @inlinable
    public func quotientAndRemainder(dividingBy d: UInt64) -> (quotient: UInt256, remainder: UInt64) {
        precondition(d != 0, "UInt256 division by zero")
        let (q3, r3) = w3.quotientAndRemainder(dividingBy: d)
        let (q2, r2) = d.dividingFullWidth((r3, w2))
        let (q1, r1) = d.dividingFullWidth((r2, w1))
        let (q0, r0) = d.dividingFullWidth((r1, w0))
        return (UInt256(w0: q0, w1: q1, w2: q2, w3: q3), r0)
    }

    /// `self * m / d` computed with a 320-bit intermediate; nil when the quotient does not fit in 256 bits
    /// or `d` is zero. This is the retarget formula `target * timespan / targetTimespan`.
    public func multipliedThenDivided(by m: UInt64, dividedBy d: UInt64) -> UInt256? {
        guard d != 0 else { return nil }
        let (high, low) = multipliedFullWidth(by: m)
        let (q4, r4) = high.quotientAndRemainder(dividingBy: d)
        guard q4 == 0 else { return nil }
        let (q3, r3) = d.dividingFullWidth((r4, low.w3))
        let (q2, r2) = d.dividingFullWidth((r3, low.w2))
        let (q1, r1) = d.dividingFullWidth((r2, low.w1))
        let (q0, _) = d.dividingFullWidth((r1, low.w0))
        return UInt256(w0: q0, w1: q1, w2: q2, w3: q3)
    }

    // MARK: Full division

    /// Quotient and remainder of `self / divisor` (shift-and-subtract over the bit-length difference only);
    /// nil when `divisor` is zero.
    public func quotientAndRemainder(dividingBy divisor: UInt256) -> (quotient: UInt256, remainder: UInt256)? {
        guard !divisor.isZero else { return nil }
        if self < divisor { return (.zero, self) }
        if divisor.w1 == 0, divisor.w2 == 0, divisor.w3 == 0 {
            let (q, r) = quotientAndRemainder(dividingBy: divisor.w0)
            return (q, UInt256(r))
        }
        let shift = bitWidth - divisor.bitWidth
        var d = divisor << shift
        var r = self
        var q = UInt256.zero
        var i = shift
        while i >= 0 {
            if r >= d {
                r = r &- d
                q.setBit(i)
            }
            d = d >> 1
            i -= 1
        }
        return (q, r)
    }

    @inlinable
    public static func / (lhs: UInt256, rhs: UInt256) -> UInt256 {
        guard let (q, _) = lhs.quotientAndRemainder(dividingBy: rhs) else {
            preconditionFailure("UInt256 division by zero")
        }
        return q
    }

    @inlinable
    mutating func setBit(_ i: Int) {
        let bit = UInt64(1) << UInt64(i & 63)
        switch i >> 6 {
        case 0: w0 |= bit
        case 1: w1 |= bit
        case 2: w2 |= bit
        default: w3 |= bit
        }
    }

    // MARK: Bitwise

    @inlinable
    public static prefix func ~ (x: UInt256) -> UInt256 { UInt256(w0: ~x.w0, w1: ~x.w1, w2: ~x.w2, w3: ~x.w3) }

    /// Limb `i` (0 = least significant); 0 outside 0..<4.
    @inlinable
    public func limb(_ i: Int) -> UInt64 {
        switch i {
        case 0: w0
        case 1: w1
        case 2: w2
        case 3: w3
        default: 0
        }
    }

    /// Logical shift left; shifts of 256 or more give zero, negative shifts shift right.
    public static func << (x: UInt256, n: Int) -> UInt256 {
        if n < 0 { return x >> -n }
        if n >= 256 { return .zero }
        let limbs = n >> 6, bits = UInt64(n & 63)
        func word(_ i: Int) -> UInt64 {
            let hi = x.limb(i - limbs)
            if bits == 0 { return hi }
            return (hi << bits) | (x.limb(i - limbs - 1) >> (64 - bits))
        }
        return UInt256(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    /// Logical shift right; shifts of 256 or more give zero, negative shifts shift left.
    public static func >> (x: UInt256, n: Int) -> UInt256 {
        if n < 0 { return x << -n }
        if n >= 256 { return .zero }
        let limbs = n >> 6, bits = UInt64(n & 63)
        func word(_ i: Int) -> UInt64 {
            let lo = x.limb(i + limbs)
            if bits == 0 { return lo }
            return (lo >> bits) | (x.limb(i + limbs + 1) << (64 - bits))
        }
        return UInt256(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    // MARK: Bytes and hex

    /// Reads 32 bytes as a little-endian number (how Bitcoin and ELA compare a block hash with a target).
    @inlinable
    public init(littleEndianBytes p: UnsafeRawBufferPointer) {
        precondition(p.count >= 32, "UInt256 needs 32 bytes")
        self.init(
            w0: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            w1: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            w2: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            w3: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// The 32 little-endian bytes (the raw order of a hash).
    public var littleEndianBytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 { out[i] = UInt8(truncatingIfNeeded: limb(i >> 3) >> UInt64((i & 7) * 8)) }
        return out
    }

    /// Parses up to 64 big-endian hex digits (an optional `0x` prefix is allowed); nil on anything else.
    public init?(hex: String) {
        var digits = Substring(hex)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.utf8.count <= 64 else { return nil }
        var value = UInt256.zero
        for c in digits.utf8 {
            let nibble: UInt8
            switch c {
            case 0x30...0x39: nibble = c - 0x30
            case 0x61...0x66: nibble = c - 0x61 + 10
            case 0x41...0x46: nibble = c - 0x41 + 10
            default: return nil
            }
            value = (value << 4)
            value.w0 |= UInt64(nibble)
        }
        self = value
    }

    /// 64 lowercase big-endian hex digits.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for limbIndex in stride(from: 3, through: 0, by: -1) {
            let v = limb(limbIndex)
            for nibbleIndex in stride(from: 15, through: 0, by: -1) {
                out.append(digits[Int((v >> UInt64(nibbleIndex * 4)) & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { "0x" + hexString }
}

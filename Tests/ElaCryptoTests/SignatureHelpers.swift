import ElaCrypto

/// Test-side big-endian arithmetic on 32-byte ECDSA scalars, to build the high-S twin of a signature.
enum SignatureMath {
    /// The P-256 group order n, big-endian.
    static let order: [UInt8] = (try? Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")) ?? []

    /// n - s for 0 < s < n.
    static func negate(_ s: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for index in stride(from: 31, through: 0, by: -1) {
            var digit = Int(order[index]) - Int(s[index]) - borrow
            borrow = digit < 0 ? 1 : 0
            if digit < 0 { digit += 256 }
            result[index] = UInt8(digit)
        }
        return result
    }

    /// True when s > n/2 (the "high-S" half that BIP62/Bitcoin would reject).
    static func isHighS(_ s: [UInt8]) -> Bool {
        // s > n/2  <=>  n - s < s (both are 32-byte big-endian, so byte order is numeric order)
        negate(s).lexicographicallyPrecedes(s)
    }

    /// The same signature with s replaced by n - s.
    static func flipS(_ signature: [UInt8]) -> [UInt8] {
        Array(signature[0..<32]) + negate(Array(signature[32..<64]))
    }
}

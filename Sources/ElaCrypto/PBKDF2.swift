internal import Crypto

/// PBKDF2-HMAC-SHA512 (RFC 8018), which `Crypto` (as opposed to `_CryptoExtras`) does not offer.
enum PBKDF2 {
    static func hmacSHA512(password: [UInt8], salt: [UInt8], iterations: Int, keyLength: Int) -> [UInt8] {
        // Keyed once; each use copies the keyed state, which saves re-hashing the key 2 x iterations times.
        let keyed = HMAC<SHA512>(key: SymmetricKey(data: password))
        var output: [UInt8] = []
        output.reserveCapacity(keyLength)
        var blockIndex: UInt32 = 1
        while output.count < keyLength {
            var mac = keyed
            mac.update(data: salt + [UInt8(blockIndex >> 24), UInt8(blockIndex >> 16 & 0xFF), UInt8(blockIndex >> 8 & 0xFF), UInt8(blockIndex & 0xFF)])
            var u = Array(mac.finalize())
            var block = u
            for _ in 1..<max(iterations, 1) {
                var next = keyed
                next.update(data: u)
                u = Array(next.finalize())
                for index in block.indices { block[index] ^= u[index] }
            }
            output += block.prefix(keyLength - output.count)
            for index in u.indices { u[index] = 0 }
            for index in block.indices { block[index] = 0 }
            blockIndex += 1
        }
        return output
    }
}

/// MurmurHash3 x86 32-bit, the hash family of BIP37 Bloom filters (Core `MurmurHash3` in `hash.cpp`).
public enum MurmurHash3 {
    /// The 32-bit hash of `data` with `seed`.
    public static func hash32(_ data: some Collection<UInt8>, seed: UInt32) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51
        let c2: UInt32 = 0x1b87_3593
        var h1 = seed
        var block: UInt32 = 0
        var blockBytes = 0
        var length = 0
        // Little-endian 4-byte blocks, then the 0–3 byte tail.
        for byte in data {
            block |= UInt32(byte) << UInt32(8 * blockBytes)
            blockBytes += 1
            length &+= 1
            if blockBytes == 4 {
                h1 ^= scramble(block, c1, c2)
                h1 = rotateLeft(h1, 13)
                h1 = h1 &* 5 &+ 0xe654_6b64
                block = 0
                blockBytes = 0
            }
        }
        if blockBytes > 0 { h1 ^= scramble(block, c1, c2) }
        h1 ^= UInt32(truncatingIfNeeded: length)
        h1 ^= h1 >> 16
        h1 = h1 &* 0x85eb_ca6b
        h1 ^= h1 >> 13
        h1 = h1 &* 0xc2b2_ae35
        h1 ^= h1 >> 16
        return h1
    }

    private static func scramble(_ k: UInt32, _ c1: UInt32, _ c2: UInt32) -> UInt32 {
        rotateLeft(k &* c1, 15) &* c2
    }

    private static func rotateLeft(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
}

import ElaCrypto

/// A carrier address as Elastos Carrier writes it: Base58 of the 38-byte Tox address (public key 32, nospam 4,
/// checksum 2). The user id is Base58 of the public key alone; it stays the same when the nospam changes.
public struct CarrierAddress: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 38
    public let bytes: [UInt8]

    /// Checks length and Tox's checksum: `checksum[i % 2] ^= byte[i]` over the first 36 bytes.
    public init(bytes: [UInt8]) throws(CarrierAddressError) {
        guard bytes.count == Self.byteCount else { throw .wrongLength(bytes.count) }
        guard Self.checksum(bytes.prefix(36)) == Array(bytes.suffix(2)) else { throw .badChecksum }
        self.bytes = bytes
    }

    public init(_ text: String) throws(CarrierAddressError) {
        let decoded: [UInt8]
        do { decoded = try Base58.decode(text) } catch { throw .notBase58(text) }
        try self.init(bytes: decoded)
    }

    /// The address of `publicKey` with `nospam`.
    public init(publicKey: [UInt8], nospam: UInt32) throws(CarrierAddressError) {
        guard publicKey.count == 32 else { throw .wrongLength(publicKey.count) }
        var b = publicKey
        b += [UInt8(nospam >> 24), UInt8(truncatingIfNeeded: nospam >> 16), UInt8(truncatingIfNeeded: nospam >> 8), UInt8(truncatingIfNeeded: nospam)]
        b += Self.checksum(b[...])
        try self.init(bytes: b)
    }

    static func checksum(_ body: ArraySlice<UInt8>) -> [UInt8] {
        var c: [UInt8] = [0, 0]
        for (i, byte) in body.enumerated() { c[i % 2] ^= byte }
        return c
    }

    public var publicKey: [UInt8] { Array(bytes.prefix(32)) }
    public var userID: String { Base58.encode(publicKey) }
    public var description: String { Base58.encode(bytes) }

    /// Base58 of a 32-byte public key: a carrier user id.
    public static func userID(publicKey: [UInt8]) -> String { Base58.encode(publicKey) }

    /// The 32-byte key of a user id.
    public static func publicKey(userID: String) throws(CarrierAddressError) -> [UInt8] {
        let decoded: [UInt8]
        do { decoded = try Base58.decode(userID) } catch { throw .notBase58(userID) }
        guard decoded.count == 32 else { throw .wrongLength(decoded.count) }
        return decoded
    }
}

public enum CarrierAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    case notBase58(String)
    case wrongLength(Int)
    case badChecksum

    public var description: String {
        switch self {
        case .notBase58(let t): "'\(t.prefix(60))' is not Base58"
        case .wrongLength(let n): "\(n) bytes: a carrier address has 38 (a user id 32)"
        case .badChecksum: "carrier address checksum does not match (mistyped?)"
        }
    }
}

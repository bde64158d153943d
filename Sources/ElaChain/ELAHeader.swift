public import ElaWire

/// An ELA main-chain block header (`ELA:core/types/common/header.go`): 84 hashed bytes, then the AuxPoW and
/// one trailing byte `0x01` on the wire.
public struct ELAHeader: Sendable, Hashable {
    /// Bytes hashed for the block hash (version … height).
    public static let hashedSize = 84

    public var version: UInt32
    public var previousHash: Hash256
    public var merkleRoot: Hash256
    public var timestamp: UInt32
    public var bits: UInt32
    public var nonce: UInt32
    public var height: UInt32
    /// The merged-mining proof; nil when the block carries ELA's zero-valued AuxPoW (the genesis block, and
    /// regnet blocks mined without a parent chain). Both decode from and encode to `AuxPow.empty`.
    public var auxPow: AuxPow?

    public init(
        version: UInt32, previousHash: Hash256, merkleRoot: Hash256, timestamp: UInt32, bits: UInt32, nonce: UInt32,
        height: UInt32, auxPow: AuxPow?
    ) {
        self.version = version
        self.previousHash = previousHash
        self.merkleRoot = merkleRoot
        self.timestamp = timestamp
        self.bits = bits
        self.nonce = nonce
        self.height = height
        self.auxPow = auxPow
    }

    /// Reads the 84 hashed bytes and, when `withAuxPow`, the AuxPoW and the trailing `0x01` byte that ELA's
    /// `Header.Serialize` writes (a `merkleblock` carries this full form).
    public init(reader: inout WireReader, withAuxPow: Bool = true) throws(WireError) {
        version = try reader.readUInt32("elaHeader.version")
        previousHash = try reader.readHash("elaHeader.previousHash")
        merkleRoot = try reader.readHash("elaHeader.merkleRoot")
        timestamp = try reader.readUInt32("elaHeader.timestamp")
        bits = try reader.readUInt32("elaHeader.bits")
        nonce = try reader.readUInt32("elaHeader.nonce")
        height = try reader.readUInt32("elaHeader.height")
        auxPow = nil
        if withAuxPow {
            let proof = try AuxPow(reader: &reader)
            auxPow = proof == AuxPow.empty ? nil : proof
            let start = reader.offset
            let trailer = try reader.readUInt8("elaHeader.trailer")
            guard trailer == 1 else {
                throw WireError(
                    .invalid("header trailer byte is \(trailer), expected 1"), offset: start, field: "elaHeader.trailer"
                )
            }
        }
    }

    /// Decodes exactly one header (84 bytes, or the full form with AuxPoW and trailer).
    public init(bytes: [UInt8], withAuxPow: Bool = true) throws(WireError) {
        var reader = WireReader(bytes)
        try self.init(reader: &reader, withAuxPow: withAuxPow)
        try reader.expectEnd("elaHeader")
    }

    /// Writes the 84 hashed bytes and, when `withAuxPow`, the AuxPoW (`AuxPow.empty` when nil) and `0x01`.
    public func write(to writer: inout WireWriter, withAuxPow: Bool = true) {
        writer.writeUInt32(version)
        writer.writeHash(previousHash)
        writer.writeHash(merkleRoot)
        writer.writeUInt32(timestamp)
        writer.writeUInt32(bits)
        writer.writeUInt32(nonce)
        writer.writeUInt32(height)
        if withAuxPow {
            (auxPow ?? AuxPow.empty).write(to: &writer)
            writer.writeUInt8(1)
        }
    }

    /// The wire bytes (`withAuxPow`) or the 84 hashed bytes.
    public func serialized(withAuxPow: Bool = true) -> [UInt8] {
        var writer = WireWriter(capacity: withAuxPow ? 512 : ELAHeader.hashedSize)
        write(to: &writer, withAuxPow: withAuxPow)
        return writer.bytes
    }

    /// The block hash: SHA256d of the 84 bytes version … height (the AuxPoW is not hashed). ELA prints it with
    /// `rawHex`; explorers and SPV.Cpp checkpoints show `displayHex`.
    public var hash: Hash256 { Hash256(hashValue256) }

    var hashValue256: UInt256 { SHA256d.value(serialized(withAuxPow: false)) }

    /// The hash compared with the target: the AuxPoW parent header's hash, or the header's own hash when it
    /// carries no AuxPoW (accepted only where `ChainParameters.allowsHeaderPoWWithoutAuxPow`).
    public var powHash: Hash256 { auxPow?.parentHeader.hash ?? hash }

    /// ELA mainnet genesis (raw hash `8d7014f2…f405`), rebuilt from `ELA:core/manager.go`.
    public static let mainnetGenesis = ELAHeader(
        version: 0, previousHash: .zero,
        merkleRoot: Hash256(rawHex: "206cf70af49fa40e594189634da713872fe5ba6d0457ae235890e0438c853692") ?? .zero,
        timestamp: 1_513_936_800, bits: 0x1D03_FFFF, nonce: 2_083_236_893, height: 0, auxPow: nil)

    /// ELA testnet genesis (raw hash `b3314f46…1864`); ELA's RegNet uses the same genesis block.
    public static let testnetGenesis = ELAHeader(
        version: 0, previousHash: .zero,
        merkleRoot: Hash256(rawHex: "725295b0c5af69065595e7681d56898de22b2cc79d9da11388cbc5be001695a3") ?? .zero,
        timestamp: 1_513_936_800, bits: 0x1D03_FFFF, nonce: 2_083_236_893, height: 0, auxPow: nil)
}

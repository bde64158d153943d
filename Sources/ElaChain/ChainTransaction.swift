public import ElaWire

/// The transactions of our devnet (`ela-regtest`): just enough of ELA's shape for SPV and DID anchoring.
/// ELA carries DID requests on its ID side chain (`RegisterDID` = 0x0A there); the regtest chain carries them
/// directly, in this documented format (all integers little-endian):
///
/// ```
/// txType u8 | payloadVersion u8 | payload varbytes (<= 1 MiB) | programHash 21 bytes | nonce u64
/// ```
///
/// `programHash` is what ELA bloom filters match on (spv.md 2.2): for a DID request it is the DID's own 21-byte
/// program (0x67 || RIPEMD160(SHA256(redeem script))), i.e. the Base58-decoded method-specific id without its
/// checksum, so an SPV client watching a DID loads that into its filter. txid = SHA256d(serialization).
public struct ChainTransaction: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        case coinbase = 0x00
        case registerDID = 0x0A
    }

    public static let maxPayload: UInt64 = 1 << 20
    public static let programHashSize = 21

    public var kind: Kind
    public var payloadVersion: UInt8
    public var payload: [UInt8]
    public var programHash: [UInt8]
    public var nonce: UInt64

    public init(kind: Kind, payloadVersion: UInt8 = 0, payload: [UInt8], programHash: [UInt8], nonce: UInt64) {
        self.kind = kind
        self.payloadVersion = payloadVersion
        self.payload = payload
        self.programHash = programHash.count == Self.programHashSize
            ? programHash : Array((programHash + [UInt8](repeating: 0, count: Self.programHashSize)).prefix(Self.programHashSize))
        self.nonce = nonce
    }

    public init(reader r: inout WireReader) throws(WireError) {
        let rawKind = try r.readUInt8("tx.type")
        guard let kind = Kind(rawValue: rawKind) else { throw r.error(.invalid("unknown transaction type \(rawKind)"), "tx.type") }
        self.kind = kind
        payloadVersion = try r.readUInt8("tx.payloadVersion")
        payload = try r.readVarBytes("tx.payload", limit: Self.maxPayload)
        programHash = try r.readBytes(Self.programHashSize, "tx.programHash")
        nonce = try r.readUInt64("tx.nonce")
    }

    /// Decodes one transaction that must use every byte (a `tx` message payload).
    public init(bytes: [UInt8]) throws(WireError) {
        var r = WireReader(bytes)
        try self.init(reader: &r)
        try r.expectEnd("tx")
    }

    public func write(to w: inout WireWriter) {
        w.writeUInt8(kind.rawValue)
        w.writeUInt8(payloadVersion)
        w.writeVarBytes(payload)
        w.write(programHash)
        w.writeUInt64(nonce)
    }

    public var serialized: [UInt8] {
        var w = WireWriter(capacity: payload.count + 40)
        write(to: &w)
        return w.bytes
    }

    public var txid: Hash256 { Hash256.sha256d(serialized) }
}

/// A full regtest block: the ELA header (with the zero AuxPoW on regnet), a u32 transaction count (ELA uses u32,
/// not a varint), the transactions.
public struct ChainBlock: Sendable, Hashable {
    public static let maxTransactions: UInt32 = 100_000

    public var header: ELAHeader
    public var transactions: [ChainTransaction]

    public init(header: ELAHeader, transactions: [ChainTransaction]) {
        self.header = header
        self.transactions = transactions
    }

    public init(bytes: [UInt8]) throws(WireError) {
        var r = WireReader(bytes)
        header = try ELAHeader(reader: &r, withAuxPow: true)
        let n = try r.readCount("block.txCount", limit: UInt64(Self.maxTransactions), elementSize: 32, varInt: false)
        var txs: [ChainTransaction] = []
        txs.reserveCapacity(n)
        for _ in 0..<n { txs.append(try ChainTransaction(reader: &r)) }
        try r.expectEnd("block")
        transactions = txs
    }

    public var serialized: [UInt8] {
        var w = WireWriter()
        header.write(to: &w, withAuxPow: true)
        w.writeUInt32(UInt32(transactions.count))
        for tx in transactions { tx.write(to: &w) }
        return w.bytes
    }

    public var txids: [Hash256] { transactions.map(\.txid) }
}

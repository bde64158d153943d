public import ElaWire

/// ELA's merged-mining proof (`ELA:auxpow/auxpow.go`): a Bitcoin-format parent block whose coinbase commits to
/// the ELA block hash. Wire order: coinbase tx, parent hash, coinbase branch + index, aux branch + index,
/// parent header.
public struct AuxPow: Sendable, Hashable {
    /// The parent coinbase transaction in legacy serialization (no segwit marker), exactly as received.
    public private(set) var coinbaseTx: [UInt8]
    /// `TxIn[0].SignatureScript` of `coinbaseTx`; nil when the transaction has no inputs.
    public private(set) var coinbaseScript: [UInt8]?
    /// Legacy Namecoin `hashBlock`: serialized but never checked.
    public var parentHash: Hash256
    /// Branch from the coinbase txid to the parent header's Merkle root.
    public var coinbaseBranch: [Hash256]
    public var coinbaseIndex: UInt32
    /// Branch from the ELA block hash to the merged-mining root committed in the coinbase script.
    public var auxBranch: [Hash256]
    public var auxIndex: UInt32
    public var parentHeader: BitcoinHeader

    /// Limits used when decoding (ELA's `MaxScriptSize`; branch lengths far above any real Merkle depth).
    public static let maxScriptSize: UInt64 = 10_000
    public static let maxBranchLength: UInt64 = 255
    /// `Check` computes `1 << len(AuxMerkleBranch)` in 32 bits; longer branches cannot be valid.
    public static let maxAuxBranchLength = 31
    /// The merged-mining marker "\xfabemm".
    public static let mergedMiningMarker: [UInt8] = [0xFA, 0xBE, 0x6D, 0x6D]

    /// Builds an AuxPoW; `coinbaseTx` must be one complete legacy transaction.
    public init(
        coinbaseTx: [UInt8], parentHash: Hash256, coinbaseBranch: [Hash256], coinbaseIndex: UInt32,
        auxBranch: [Hash256], auxIndex: UInt32, parentHeader: BitcoinHeader
    ) throws(WireError) {
        var reader = WireReader(coinbaseTx)
        let script = try AuxPow.readLegacyTransaction(&reader)
        try reader.expectEnd("auxpow.coinbaseTx")
        self.coinbaseTx = coinbaseTx
        self.coinbaseScript = script
        self.parentHash = parentHash
        self.coinbaseBranch = coinbaseBranch
        self.coinbaseIndex = coinbaseIndex
        self.auxBranch = auxBranch
        self.auxIndex = auxIndex
        self.parentHeader = parentHeader
    }

    /// Reads one AuxPoW in wire order; the coinbase must be a legacy transaction (scripts up to 10 000 bytes).
    public init(reader: inout WireReader) throws(WireError) {
        let start = reader.offset
        coinbaseScript = try AuxPow.readLegacyTransaction(&reader)
        coinbaseTx = Array(reader.bytes[start..<reader.offset])
        parentHash = try reader.readHash("auxpow.parentHash")
        coinbaseBranch = try AuxPow.readBranch(&reader, "auxpow.coinbaseBranch")
        coinbaseIndex = try reader.readUInt32("auxpow.coinbaseIndex")
        auxBranch = try AuxPow.readBranch(&reader, "auxpow.auxBranch")
        auxIndex = try reader.readUInt32("auxpow.auxIndex")
        parentHeader = try BitcoinHeader(reader: &reader)
    }

    /// Decodes exactly one AuxPoW.
    public init(bytes: [UInt8]) throws(WireError) {
        var reader = WireReader(bytes)
        try self.init(reader: &reader)
        try reader.expectEnd("auxpow")
    }

    /// Writes the AuxPoW in wire order.
    public func write(to writer: inout WireWriter) {
        writer.write(coinbaseTx)
        writer.writeHash(parentHash)
        writer.writeVarInt(UInt64(coinbaseBranch.count))
        for h in coinbaseBranch { writer.writeHash(h) }
        writer.writeUInt32(coinbaseIndex)
        writer.writeVarInt(UInt64(auxBranch.count))
        for h in auxBranch { writer.writeHash(h) }
        writer.writeUInt32(auxIndex)
        parentHeader.write(to: &writer)
    }

    /// The wire bytes.
    public var serialized: [UInt8] {
        var writer = WireWriter(capacity: coinbaseTx.count + 200)
        write(to: &writer)
        return writer.bytes
    }

    /// The zero-valued AuxPoW ELA serializes for blocks that carry none (the genesis block): an empty
    /// transaction, zero hashes, empty branches and an all-zero parent header (132 bytes).
    public static let empty = AuxPow(
        unchecked: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  // version 0, no inputs, no outputs, lock time 0
        parentHeader: BitcoinHeader(version: 0, previousHash: .zero, merkleRoot: .zero, timestamp: 0, bits: 0, nonce: 0)
    )

    private init(unchecked tx: [UInt8], parentHeader: BitcoinHeader) {
        coinbaseTx = tx
        coinbaseScript = nil
        parentHash = .zero
        coinbaseBranch = []
        coinbaseIndex = 0
        auxBranch = []
        auxIndex = 0
        self.parentHeader = parentHeader
    }

    /// SHA256d of the coinbase transaction (its txid, raw order).
    public var coinbaseTxid: Hash256 { SHA256d.hash(coinbaseTx) }

    // MARK: Decoding helpers

    /// Reads a legacy Bitcoin transaction and returns its first input's script (nil without inputs).
    static func readLegacyTransaction(_ reader: inout WireReader) throws(WireError) -> [UInt8]? {
        _ = try reader.readInt32("auxpow.coinbaseTx.version")
        // An input is at least 41 bytes (outpoint 36, script length 1, sequence 4), an output at least 9.
        let inputs = try reader.readCount("auxpow.coinbaseTx.inputs", limit: UInt64(Int32.max), elementSize: 41)
        var firstScript: [UInt8]?
        for i in 0..<inputs {
            try reader.skip(36, "auxpow.coinbaseTx.outpoint")
            let script = try reader.readVarBytes("auxpow.coinbaseTx.script", limit: maxScriptSize)
            if i == 0 { firstScript = script }
            try reader.skip(4, "auxpow.coinbaseTx.sequence")
        }
        let outputs = try reader.readCount("auxpow.coinbaseTx.outputs", limit: UInt64(Int32.max), elementSize: 9)
        for _ in 0..<outputs {
            try reader.skip(8, "auxpow.coinbaseTx.value")
            let n = try reader.readCount("auxpow.coinbaseTx.pkScript", limit: maxScriptSize, elementSize: 1)
            try reader.skip(n, "auxpow.coinbaseTx.pkScript")
        }
        _ = try reader.readUInt32("auxpow.coinbaseTx.lockTime")
        return firstScript
    }

    static func readBranch(_ reader: inout WireReader, _ field: String) throws(WireError) -> [Hash256] {
        let n = try reader.readCount(field, limit: maxBranchLength, elementSize: 32)
        var branch: [Hash256] = []
        branch.reserveCapacity(n)
        for _ in 0..<n { branch.append(try reader.readHash(field)) }
        return branch
    }
}

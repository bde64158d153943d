import ElaChain
import ElaWire

/// Mines ELA regnet headers for tests (target ~2^255: about two attempts per header).
enum RegnetMiner {
    static let genesis = ELAHeader.testnetGenesis
    static let spacing: UInt32 = 120

    /// A header on `parent` whose own hash meets `bits` (no AuxPoW). `tag` varies the Merkle root so sibling
    /// headers differ.
    static func mine(on parent: ELAHeader, timestamp: UInt32? = nil, bits: UInt32 = 0x207F_FFFF, tag: UInt8 = 0)
        -> ELAHeader
    {
        var root = [UInt8](repeating: 0, count: 32)
        root[0] = tag
        root[1] = UInt8(truncatingIfNeeded: parent.height)
        var header = ELAHeader(
            version: 0, previousHash: parent.hash, merkleRoot: Hash256(rawBytes: root),
            timestamp: timestamp ?? parent.timestamp + spacing, bits: bits, nonce: 0, height: parent.height + 1,
            auxPow: nil)
        let target = ProofOfWork.target(bits: bits) ?? .zero
        while UInt256(header.hash) > target { header.nonce += 1 }
        return header
    }

    /// A header on `parent` that carries a merged-mining proof for `chainID` (empty branches), its parent
    /// Bitcoin header mined against the ELA target.
    static func mineWithAuxPow(on parent: ELAHeader, chainID: UInt32 = 1224, tag: UInt8 = 0) -> ELAHeader {
        var header = mine(on: parent, tag: tag)
        header.auxPow = auxPow(committingTo: header.hash, bits: header.bits)
        return header
    }

    static func auxPow(committingTo hash: Hash256, bits: UInt32) -> AuxPow? {
        // Script: height push, marker, merged-mining root (reverse of reverse(hash) = raw hash), size 1, nonce 0.
        var script: [UInt8] = [0x03, 0x01, 0x02, 0x03]
        script += AuxPow.mergedMiningMarker + hash.rawBytes + [1, 0, 0, 0] + [0, 0, 0, 0] + Array("/regtest/".utf8)
        var w = WireWriter()
        w.writeInt32(1)
        w.writeVarInt(1)
        w.write([UInt8](repeating: 0, count: 32))
        w.writeUInt32(0xFFFF_FFFF)
        w.writeVarBytes(script)
        w.writeUInt32(0xFFFF_FFFF)
        w.writeVarInt(1)
        w.writeUInt64(0)
        w.writeVarBytes([0x51])
        w.writeUInt32(0)
        let tx = w.bytes
        guard
            var proof = try? AuxPow(
                coinbaseTx: tx, parentHash: .zero, coinbaseBranch: [], coinbaseIndex: 0, auxBranch: [], auxIndex: 0,
                parentHeader: BitcoinHeader(
                    version: 0x2000_0000, previousHash: .zero, merkleRoot: .zero, timestamp: 1_600_000_000,
                    bits: 0x207F_FFFF, nonce: 0))
        else { return nil }
        proof.parentHeader.merkleRoot = proof.coinbaseTxid
        let target = ProofOfWork.target(bits: bits) ?? .zero
        while UInt256(proof.parentHeader.hash) > target { proof.parentHeader.nonce += 1 }
        return proof
    }

    /// `count` headers on `parent`, each `spacing` seconds apart.
    static func chain(on parent: ELAHeader, count: Int, tag: UInt8 = 0) -> [ELAHeader] {
        var out: [ELAHeader] = []
        var last = parent
        for _ in 0..<count {
            last = mine(on: last, tag: tag)
            out.append(last)
        }
        return out
    }

    static func newChain(_ parameters: ChainParameters = .elaRegnet) -> HeaderChain<ELAHeader> {
        HeaderChain(
            parameters: parameters, anchor: genesis, anchorHeight: 0,
            anchorChainWork: ProofOfWork.work(bits: genesis.bits))
    }

    /// A clock comfortably after every mined timestamp.
    static let now: UInt32 = 1_900_000_000
}

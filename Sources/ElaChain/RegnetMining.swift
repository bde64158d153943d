public import ElaWire

extension ELAHeader {
    /// A regnet header on `parent` whose own hash meets the regnet target (no AuxPoW; about two attempts).
    /// Only `ChainParameters.elaRegnet` accepts such headers; mainnet and testnet require AuxPoW.
    public static func mineRegnet(
        on parent: ELAHeader, merkleRoot: Hash256, timestamp: UInt32, parameters: ChainParameters = .elaRegnet
    ) -> ELAHeader {
        var header = ELAHeader(
            version: 0, previousHash: parent.hash, merkleRoot: merkleRoot, timestamp: timestamp,
            bits: parameters.powLimitBits, nonce: 0, height: parent.height + 1, auxPow: nil)
        let target = ProofOfWork.target(bits: header.bits) ?? .zero
        while UInt256(header.hash) > target { header.nonce &+= 1 }
        return header
    }
}

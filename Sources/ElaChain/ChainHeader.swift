public import ElaWire

/// What `HeaderChain` and the rule checks need from a header format. `BitcoinHeader` and `ELAHeader` conform.
public protocol ChainHeader: Sendable {
    /// The block hash (computed once per `HeaderChain.add`).
    var hash: Hash256 { get }
    var previousHash: Hash256 { get }
    var timestamp: UInt32 { get }
    var bits: UInt32 { get }
    /// The height written in the header itself (ELA), or nil when the format has none (Bitcoin).
    var declaredHeight: UInt32? { get }
    /// Checks this header's proof of work against `target`, which is already known to be in range.
    /// `hash` is `self.hash`, passed in so it is not recomputed.
    func checkProofOfWork(hash: Hash256, target: UInt256, height: UInt32, parameters: ChainParameters)
        throws(HeaderRuleError)
}

extension BitcoinHeader: ChainHeader {
    public var declaredHeight: UInt32? { nil }

    public func checkProofOfWork(hash: Hash256, target: UInt256, height: UInt32, parameters: ChainParameters)
        throws(HeaderRuleError)
    {
        guard UInt256(hash) <= target else {
            throw HeaderRuleError(
                height: height, rule: .proofOfWork,
                message: "hash \(hash.displayHex) is above target \(target.hexString) (bits 0x\(hex32(bits)))")
        }
    }
}

extension ELAHeader: ChainHeader {
    public var declaredHeight: UInt32? { height }

    /// With AuxPoW: the full `AuxPow.check(hash, chainID)`, then the parent header's hash against the ELA
    /// target (ELA `CheckBlockSanity` order). Without AuxPoW (regnet only): the header's own hash.
    public func checkProofOfWork(hash: Hash256, target: UInt256, height: UInt32, parameters: ChainParameters)
        throws(HeaderRuleError)
    {
        if let auxPow {
            guard let chainID = parameters.auxPowChainID else {
                throw HeaderRuleError(
                    height: height, rule: .auxPow, message: "\(parameters.name) has no merged-mining chain ID")
            }
            do {
                try auxPow.check(auxBlockHash: hash, chainID: chainID)
            } catch {
                throw HeaderRuleError(height: height, rule: .auxPow, message: error.description)
            }
            let parent = auxPow.parentHeader.hash
            guard UInt256(parent) <= target else {
                throw HeaderRuleError(
                    height: height, rule: .proofOfWork,
                    message: "AuxPoW parent hash \(parent.displayHex) is above target \(target.hexString)"
                        + " (bits 0x\(hex32(bits)))"
                )
            }
        } else {
            guard parameters.allowsHeaderPoWWithoutAuxPow else {
                throw HeaderRuleError(
                    height: height, rule: .auxPow,
                    message: "header carries no AuxPoW, which \(parameters.name) requires")
            }
            guard UInt256(hash) <= target else {
                throw HeaderRuleError(
                    height: height, rule: .proofOfWork,
                    message: "hash \(hash.rawHex) is above target \(target.hexString) (bits 0x\(hex32(bits)))")
            }
        }
    }
}

/// 8 hex digits, for bits in messages.
func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}

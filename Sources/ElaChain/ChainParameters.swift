public import ElaWire

/// Which header format and consensus family a chain uses.
public enum ChainKind: String, Sendable, Hashable {
    /// 80-byte Bitcoin headers (the real-data test vectors).
    case bitcoin
    /// ELA headers: 84 hashed bytes plus AuxPoW.
    case ela
}

/// The difficulty-retarget rule of a chain.
public struct RetargetRule: Sendable, Hashable {
    /// How `last.timestamp - first.timestamp` is computed.
    public enum TimespanArithmetic: Sendable, Hashable {
        /// Signed 64-bit (Bitcoin Core, btcd): a negative span clamps to the minimum.
        case signed
        /// Wrapping uint32 (ELA's Go code subtracts two uint32s): a "negative" span wraps and clamps to the maximum.
        case wrappingUInt32
    }

    /// Blocks per period (Bitcoin 2016, ELA 720).
    public var interval: UInt32
    /// Intended duration of a period in seconds (Bitcoin 14 days, ELA 1 day).
    public var targetTimespan: UInt32
    /// The measured span is clamped into `minTimespan...maxTimespan` (a factor of 4 either way).
    public var minTimespan: UInt32
    public var maxTimespan: UInt32
    public var timespanArithmetic: TimespanArithmetic
    /// ELA: the block after genesis must carry `powLimitBits` (not the genesis bits).
    public var powLimitBitsAfterGenesis: Bool
    /// ELA with `PowLimitBits == 0x207fffff` (regnet): never retarget, every block carries `powLimitBits`.
    public var fixedAtPowLimit: Bool

    public init(
        interval: UInt32, targetTimespan: UInt32, minTimespan: UInt32, maxTimespan: UInt32,
        timespanArithmetic: TimespanArithmetic, powLimitBitsAfterGenesis: Bool, fixedAtPowLimit: Bool
    ) {
        self.interval = interval
        self.targetTimespan = targetTimespan
        self.minTimespan = minTimespan
        self.maxTimespan = maxTimespan
        self.timespanArithmetic = timespanArithmetic
        self.powLimitBitsAfterGenesis = powLimitBitsAfterGenesis
        self.fixedAtPowLimit = fixedAtPowLimit
    }

    /// Bitcoin mainnet: 2016 blocks, 14 days, clamp [3.5 days, 56 days].
    public static let bitcoin = RetargetRule(
        interval: 2016, targetTimespan: 1_209_600, minTimespan: 302_400, maxTimespan: 4_838_400,
        timespanArithmetic: .signed, powLimitBitsAfterGenesis: false, fixedAtPowLimit: false)

    /// ELA (`ELA:blockchain/difficulty.go`): 720 blocks, 1 day, clamp [6 h, 4 days], block 1 at powLimitBits.
    public static let ela = RetargetRule(
        interval: 720, targetTimespan: 86_400, minTimespan: 21_600, maxTimespan: 345_600,
        timespanArithmetic: .wrappingUInt32, powLimitBitsAfterGenesis: true, fixedAtPowLimit: false)
}

/// Consensus and network constants of one chain. All fields are `var` so tests and tools can derive variants
/// (for example a smaller `reorgDepthLimit`).
public struct ChainParameters: Sendable {
    /// Short name for messages, e.g. "ela-mainnet".
    public var name: String
    /// Header format and consensus family.
    public var kind: ChainKind
    /// Hash of `genesisHeader` (also checkpoint 0).
    public var genesisHash: Hash256
    /// The genesis header serialized without AuxPoW (80 bytes for Bitcoin, 84 for ELA).
    public var genesisHeader: [UInt8]
    /// Largest valid target (Bitcoin: target of 0x1d00ffff; ELA: 2^255 − 1, far looser than `powLimitBits`).
    public var powLimit: UInt256
    /// The bits ELA assigns after genesis and on regnet; Bitcoin's powLimit in compact form.
    public var powLimitBits: UInt32
    /// Difficulty-retarget rule.
    public var retarget: RetargetRule
    /// A header's timestamp must exceed the median of this many previous timestamps.
    public var medianTimeSpan: Int
    /// Whether a timestamp equal to that median passes. Bitcoin: no (strictly after). ELA: yes, because
    /// `checkBlockContext` compares `time.Unix(timestamp, 1)` (one nanosecond later) with the median.
    public var medianTimeAllowsEqual: Bool
    /// A header may be at most this far ahead of the caller's clock.
    public var maxFutureSeconds: UInt32
    /// Heights whose header must have exactly this hash. Height 0 (genesis) is always included.
    public var checkpoints: [UInt32: Hash256]
    /// A new header may not fork off the main chain more than this many blocks below the tip.
    public var reorgDepthLimit: UInt32
    /// Merged-mining chain ID checked by `AuxPow.check` (1224 on ELA); nil for Bitcoin.
    public var auxPowChainID: UInt32?
    /// Regnet only: a header without AuxPoW is accepted when its own hash meets the target.
    public var allowsHeaderPoWWithoutAuxPow: Bool
    /// P2P message magic (u32, little-endian on the wire) and default port.
    public var p2pMagic: UInt32
    public var p2pPort: UInt16

    public init(
        name: String, kind: ChainKind, genesisHeader: [UInt8], powLimit: UInt256, powLimitBits: UInt32,
        retarget: RetargetRule, medianTimeSpan: Int = 11, medianTimeAllowsEqual: Bool? = nil,
        maxFutureSeconds: UInt32 = 7200,
        checkpoints: [UInt32: Hash256], reorgDepthLimit: UInt32, auxPowChainID: UInt32?,
        allowsHeaderPoWWithoutAuxPow: Bool, p2pMagic: UInt32, p2pPort: UInt16
    ) {
        self.name = name
        self.kind = kind
        self.genesisHeader = genesisHeader
        self.genesisHash = SHA256d.hash(genesisHeader)
        self.powLimit = powLimit
        self.powLimitBits = powLimitBits
        self.retarget = retarget
        self.medianTimeSpan = medianTimeSpan
        self.medianTimeAllowsEqual = medianTimeAllowsEqual ?? (kind == .ela)
        self.maxFutureSeconds = maxFutureSeconds
        var points = checkpoints
        points[0] = genesisHash
        self.checkpoints = points
        self.reorgDepthLimit = reorgDepthLimit
        self.auxPowChainID = auxPowChainID
        self.allowsHeaderPoWWithoutAuxPow = allowsHeaderPoWWithoutAuxPow
        self.p2pMagic = p2pMagic
        self.p2pPort = p2pPort
    }

    /// Default depth limit: deeper reorganizations need operator action (re-anchor), as on other SPV clients.
    public static let defaultReorgDepthLimit: UInt32 = 100

    /// Bitcoin mainnet (for the real-data vectors): btcd's checkpoints, powLimit 0x1d00ffff.
    public static let bitcoinMainnet = ChainParameters(
        name: "bitcoin-mainnet", kind: .bitcoin, genesisHeader: BitcoinHeader.bitcoinMainnetGenesis.serialized,
        powLimit: UInt256(compact: 0x1D00_FFFF) ?? .zero, powLimitBits: 0x1D00_FFFF, retarget: .bitcoin,
        checkpoints: checkpointTable(BuiltInCheckpoints.bitcoinMainnet), reorgDepthLimit: defaultReorgDepthLimit,
        auxPowChainID: nil, allowsHeaderPoWWithoutAuxPow: false, p2pMagic: 0xD9B4_BEF9, p2pPort: 8333)

    /// ELA's consensus powLimit, 2^255 − 1 (`ELA:common/config/config.go`).
    public static let elaPowLimit = UInt256(w0: .max, w1: .max, w2: .max, w3: .max >> 1)

    /// ELA mainnet: AuxPoW with chain ID 1224, 720-block retarget, SPV.Cpp checkpoints up to 620928.
    public static let elaMainnet = ChainParameters(
        name: "ela-mainnet", kind: .ela, genesisHeader: ELAHeader.mainnetGenesis.serialized(withAuxPow: false),
        powLimit: elaPowLimit, powLimitBits: 0x1F00_08FF, retarget: .ela,
        checkpoints: checkpointTable(BuiltInCheckpoints.elaMainnet), reorgDepthLimit: defaultReorgDepthLimit,
        auxPowChainID: 1224, allowsHeaderPoWWithoutAuxPow: false, p2pMagic: 2_017_001, p2pPort: 20338)

    /// ELA testnet: mainnet rules, its own genesis, no checkpoints besides genesis.
    public static let elaTestnet = ChainParameters(
        name: "ela-testnet", kind: .ela, genesisHeader: ELAHeader.testnetGenesis.serialized(withAuxPow: false),
        powLimit: elaPowLimit, powLimitBits: 0x1F00_08FF, retarget: .ela,
        checkpoints: [:], reorgDepthLimit: defaultReorgDepthLimit,
        auxPowChainID: 1224, allowsHeaderPoWWithoutAuxPow: false, p2pMagic: 2_018_101, p2pPort: 21338)

    /// ELA regnet as this project runs it (`ela-regtest`): testnet genesis (as upstream RegNet), powLimitBits
    /// 0x207fffff, which upstream's `CalcNextRequiredDifficulty` treats as "never retarget" (every block after
    /// genesis carries 0x207fffff), and a header may omit the AuxPoW (zero-valued on the wire) when its own
    /// hash meets the target, so a block is mined in about two hash attempts. Headers that do carry an AuxPoW
    /// are checked exactly as on mainnet.
    public static let elaRegnet: ChainParameters = {
        var p = ChainParameters(
            name: "ela-regnet", kind: .ela, genesisHeader: ELAHeader.testnetGenesis.serialized(withAuxPow: false),
            powLimit: elaPowLimit, powLimitBits: 0x207F_FFFF, retarget: .ela,
            checkpoints: [:], reorgDepthLimit: defaultReorgDepthLimit,
            auxPowChainID: 1224, allowsHeaderPoWWithoutAuxPow: true, p2pMagic: 2_018_201, p2pPort: 22338)
        p.retarget.fixedAtPowLimit = true
        return p
    }()

    static func checkpointTable(_ rows: [(UInt32, String)]) -> [UInt32: Hash256] {
        var table: [UInt32: Hash256] = [:]
        for (height, display) in rows {
            if let h = Hash256(displayHex: display) { table[height] = h }
        }
        return table
    }

    /// Decodes `genesisHeader` as a Bitcoin header (nil for ELA parameters).
    public var bitcoinGenesis: BitcoinHeader? {
        guard kind == .bitcoin else { return nil }
        return try? BitcoinHeader(bytes: genesisHeader)
    }

    /// Decodes `genesisHeader` as an ELA header without AuxPoW (nil for Bitcoin parameters).
    public var elaGenesis: ELAHeader? {
        guard kind == .ela else { return nil }
        return try? ELAHeader(bytes: genesisHeader, withAuxPow: false)
    }
}

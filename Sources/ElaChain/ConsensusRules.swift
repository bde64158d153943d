import ElaWire

/// What the retarget rule allows for a header's bits.
public enum BitsRequirement: Sendable, Equatable {
    /// The bits must be exactly this value.
    case exactly(UInt32)
    /// At a retarget boundary whose period start is not known (before a trusted anchor): the decoded target
    /// must lie in this range (the results for the minimum and maximum clamped timespans), and the bits must
    /// be in canonical compact form.
    case between(lowest: UInt256, highest: UInt256)
}

extension ChainParameters {
    /// Whether the block at `height` starts a new difficulty period.
    public func isRetargetHeight(_ height: UInt32) -> Bool {
        retarget.interval != 0 && height != 0 && height % retarget.interval == 0
    }

    /// Bits for the first block of a period: the last block's target scaled by the clamped span of the
    /// period ending (`lastTimestamp - firstTimestamp`, first = block `height - interval`, last = the parent),
    /// divided by the target timespan, capped at `powLimit`.
    public func retargetBits(lastBits: UInt32, firstTimestamp: UInt32, lastTimestamp: UInt32) -> UInt32 {
        let span: UInt64
        switch retarget.timespanArithmetic {
        case .signed:
            let signed = Int64(lastTimestamp) - Int64(firstTimestamp)
            span = UInt64(max(Int64(retarget.minTimespan), min(Int64(retarget.maxTimespan), signed)))
        case .wrappingUInt32:
            let wrapped = lastTimestamp &- firstTimestamp
            span = UInt64(max(retarget.minTimespan, min(retarget.maxTimespan, wrapped)))
        }
        return retargetTarget(lastBits: lastBits, timespan: span).compact
    }

    /// `min(powLimit, target(lastBits) * timespan / targetTimespan)` with a 320-bit intermediate.
    func retargetTarget(lastBits: UInt32, timespan: UInt64) -> UInt256 {
        let old = UInt256(compact: lastBits) ?? .zero
        guard let scaled = old.multipliedThenDivided(by: timespan, dividedBy: UInt64(retarget.targetTimespan)) else {
            return powLimit
        }
        return scaled > powLimit ? powLimit : scaled
    }

    /// The bits rule for the header at `height` (>= 1) whose parent has `parentBits`/`parentTimestamp`.
    /// `periodFirstTimestamp` is the timestamp of block `height - interval`, nil when it is not known.
    public func requiredBits(height: UInt32, parentBits: UInt32, parentTimestamp: UInt32, periodFirstTimestamp: UInt32?)
        -> BitsRequirement
    {
        if retarget.fixedAtPowLimit { return .exactly(powLimitBits) }
        if retarget.powLimitBitsAfterGenesis && height == 1 { return .exactly(powLimitBits) }
        guard isRetargetHeight(height) else { return .exactly(parentBits) }
        if let first = periodFirstTimestamp {
            return .exactly(retargetBits(lastBits: parentBits, firstTimestamp: first, lastTimestamp: parentTimestamp))
        }
        let lowest =
            UInt256(compact: retargetTarget(lastBits: parentBits, timespan: UInt64(retarget.minTimespan)).compact)
            ?? .zero
        let highest =
            UInt256(compact: retargetTarget(lastBits: parentBits, timespan: UInt64(retarget.maxTimespan)).compact)
            ?? .zero
        return .between(lowest: lowest, highest: highest)
    }
}

/// The individual header rules, shared by `HeaderChain` and `HeaderRunVerifier`.
enum Rules {
    /// The target of `bits`, which must satisfy 0 < target <= powLimit.
    static func target(bits: UInt32, height: UInt32, parameters: ChainParameters) throws(HeaderRuleError) -> UInt256 {
        let (value, negative, overflow) = UInt256.decodeCompact(bits)
        guard !negative, !overflow, !value.isZero, value <= parameters.powLimit else {
            let why =
                negative
                ? "negative"
                : overflow ? "overflowing" : value.isZero ? "zero" : "above powLimit \(parameters.powLimit.hexString)"
            throw HeaderRuleError(
                height: height, rule: .targetRange, message: "bits 0x\(hex32(bits)) encode a \(why) target")
        }
        return value
    }

    static func checkBits(_ bits: UInt32, _ requirement: BitsRequirement, height: UInt32) throws(HeaderRuleError) {
        switch requirement {
        case .exactly(let expected):
            guard bits == expected else {
                throw HeaderRuleError(
                    height: height, rule: .difficulty,
                    message: "bits 0x\(hex32(bits)), the retarget rule requires 0x\(hex32(expected))")
            }
        case .between(let lowest, let highest):
            let target = UInt256(compact: bits) ?? .zero
            guard target.compact == bits, target >= lowest, target <= highest else {
                throw HeaderRuleError(
                    height: height, rule: .difficulty,
                    message: "bits 0x\(hex32(bits)) outside the retarget range 0x\(hex32(lowest.compact))"
                        + "…0x\(hex32(highest.compact)) (earlier history unknown)"
                )
            }
        }
    }

    /// Median of `timestamps` (Bitcoin's `GetMedianTimePast`: sorted, element count/2).
    static func median(_ timestamps: [UInt32]) -> UInt32 {
        guard !timestamps.isEmpty else { return 0 }
        let sorted = timestamps.sorted()
        return sorted[sorted.count / 2]
    }

    /// timestamp > median(previous), or >= when `allowEqual`. The median (element n/2 of the sorted n) is
    /// below `timestamp` iff at least n/2 + 1 of them are, so the common case needs no sort.
    static func checkMedianTime(
        _ timestamp: UInt32, previous: [UInt32], allowEqual: Bool, height: UInt32
    ) throws(HeaderRuleError) {
        guard !previous.isEmpty else { return }
        var passing = 0
        for t in previous where t < timestamp || (allowEqual && t == timestamp) { passing += 1 }
        guard passing < previous.count / 2 + 1 else { return }
        let m = median(previous)
        throw HeaderRuleError(
            height: height, rule: .medianTimePast,
            message: "timestamp \(timestamp) is not \(allowEqual ? "at or " : "")after the median \(m) of the previous "
                + "\(previous.count)")
    }

    static func checkFutureTime(_ timestamp: UInt32, now: UInt32, parameters: ChainParameters, height: UInt32)
        throws(HeaderRuleError)
    {
        let limit = UInt64(now) + UInt64(parameters.maxFutureSeconds)
        guard UInt64(timestamp) <= limit else {
            throw HeaderRuleError(
                height: height, rule: .futureTime,
                message: "timestamp \(timestamp) is more than \(parameters.maxFutureSeconds) s after now (\(now))")
        }
    }

    static func checkCheckpoint(_ hash: UInt256, height: UInt32, parameters: ChainParameters) throws(HeaderRuleError) {
        guard let expected = parameters.checkpoints[height] else { return }
        guard UInt256(expected) == hash else {
            throw HeaderRuleError(
                height: height, rule: .checkpoint,
                message: "hash \(Hash256(hash).displayHex) differs from checkpoint \(expected.displayHex)")
        }
    }
}

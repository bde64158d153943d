public import ElaWire

/// Result of verifying a contiguous run of headers.
public struct RunSummary: Sendable, Equatable {
    /// Headers in the run, the anchor included.
    public var count: Int
    public var anchorHash: Hash256
    public var tipHash: Hash256
    public var tipHeight: UInt32
    /// Sum of `ProofOfWork.work(bits:)` over every header of the run, the anchor's own work included (so a run
    /// from genesis gives the chainwork Bitcoin Core reports for the tip).
    public var totalWork: UInt256

    public init(count: Int, anchorHash: Hash256, tipHash: Hash256, tipHeight: UInt32, totalWork: UInt256) {
        self.count = count
        self.anchorHash = anchorHash
        self.tipHash = tipHash
        self.tipHeight = tipHeight
        self.totalWork = totalWork
    }
}

/// Offline verification of a file of contiguous raw headers (`elactl spv verify-headers`).
///
/// The first header is the trusted anchor at `anchorHeight`: it is checked only against a checkpoint at that
/// height (genesis at 0) and, for ELA, its height field. Every later header must pass linkage, target range,
/// proof of work (ELA: full AuxPoW check with the chain ID, then the parent hash; regnet may omit the
/// AuxPoW), difficulty, median-time-past, checkpoints and, when `now` is given, the future-time limit.
///
/// Unknown history before the anchor: bits of a non-boundary header must equal the previous header's; at a
/// retarget boundary the exact new bits are recomputed when the period's first header is in the run, otherwise
/// the target must lie within the clamp range from the previous target (`BitsRequirement.between`). The
/// median-time-past rule starts once 11 previous headers are in the run (or from genesis).
///
/// Input format: Bitcoin, 80-byte headers back to back. ELA, full headers as ELA serializes them (84 bytes,
/// AuxPoW, `0x01`; the genesis with the zero-valued AuxPoW).
public enum HeaderRunVerifier {
    /// Verifies `bytes` as contiguous headers of `chain` (which must match `parameters.kind`) whose first header
    /// is at `anchorHeight`. `now` (Unix seconds) enables the future-time rule; a historical file needs none.
    public static func verify(
        bytes: [UInt8], chain: ChainKind, anchorHeight: UInt32, parameters: ChainParameters, now: UInt32? = nil
    ) -> Result<RunSummary, HeaderRuleError> {
        guard chain == parameters.kind else {
            return .failure(
                HeaderRuleError(
                    height: anchorHeight, rule: .malformed,
                    message: "\(chain.rawValue) headers cannot be checked with \(parameters.name) parameters"))
        }
        do throws(HeaderRuleError) {
            switch chain {
            case .bitcoin:
                return .success(try verifyBitcoin(bytes, anchorHeight: anchorHeight, parameters: parameters, now: now))
            case .ela:
                return .success(try verifyELA(bytes, anchorHeight: anchorHeight, parameters: parameters, now: now))
            }
        } catch {
            return .failure(error)
        }
    }

    // MARK: Bitcoin (hot path: one pass over the buffer, no per-header allocation besides hashing)

    static func verifyBitcoin(_ bytes: [UInt8], anchorHeight: UInt32, parameters: ChainParameters, now: UInt32?)
        throws(HeaderRuleError) -> RunSummary
    {
        let size = BitcoinHeader.size
        let count = bytes.count / size
        guard count > 0, bytes.count % size == 0 else {
            throw HeaderRuleError(
                height: anchorHeight &+ UInt32(truncatingIfNeeded: count), rule: .malformed,
                message: "\(bytes.count) bytes is not a whole number of 80-byte headers (at least one)")
        }
        guard UInt64(anchorHeight) + UInt64(count - 1) <= UInt64(UInt32.max) else {
            throw HeaderRuleError(
                height: anchorHeight, rule: .malformed, message: "run of \(count) headers passes height 2^32")
        }
        var state = RunState(anchorHeight: anchorHeight, count: count, parameters: parameters, now: now)
        var anchorHash = UInt256.zero
        var lastHash = UInt256.zero
        // `withUnsafeBytes` is not typed-throws, so the closure returns the error instead of throwing it.
        let failure: HeaderRuleError? = bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                let header = UnsafeRawBufferPointer(rebasing: raw[(i * size)..<(i * size + size)])
                do throws(HeaderRuleError) {
                    lastHash = try checkBitcoinHeader(header, index: i, previousHash: lastHash, state: &state)
                } catch {
                    return error
                }
                if i == 0 { anchorHash = lastHash }
            }
            return nil
        }
        if let failure { throw failure }
        return RunSummary(
            count: count, anchorHash: Hash256(anchorHash), tipHash: Hash256(lastHash),
            tipHeight: anchorHeight + UInt32(count - 1), totalWork: state.totalWork)
    }

    /// Checks one 80-byte header in place and returns its hash.
    @inline(__always)
    static func checkBitcoinHeader(
        _ header: UnsafeRawBufferPointer, index: Int, previousHash: UInt256, state: inout RunState
    ) throws(HeaderRuleError) -> UInt256 {
        let hash = SHA256d.value(header)
        let timestamp = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 68, as: UInt32.self))
        let bits = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: 72, as: UInt32.self))
        if index > 0 {
            let height = state.anchorHeight + UInt32(index)
            let linked = UInt256(littleEndianBytes: UnsafeRawBufferPointer(rebasing: header[4..<36]))
            guard linked == previousHash else {
                throw HeaderRuleError(
                    height: height, rule: .linkage,
                    message: "previous hash \(Hash256(linked).displayHex) is not the hash "
                        + "\(Hash256(previousHash).displayHex) of height \(height - 1)"
                )
            }
            let target = try state.target(bits: bits, height: height)
            guard hash <= target else {
                throw HeaderRuleError(
                    height: height, rule: .proofOfWork,
                    message:
                        "hash \(Hash256(hash).displayHex) is above target \(target.hexString) (bits 0x\(hex32(bits)))")
            }
        }
        try state.accept(index: index, hash: hash, timestamp: timestamp, bits: bits)
        return hash
    }

    // MARK: ELA

    static func verifyELA(_ bytes: [UInt8], anchorHeight: UInt32, parameters: ChainParameters, now: UInt32?)
        throws(HeaderRuleError) -> RunSummary
    {
        // Each full ELA header is at least 84 + 132 + 1 bytes, which bounds the run length for the buffers.
        let maxCount = max(1, bytes.count / (ELAHeader.hashedSize + 133))
        var state = RunState(anchorHeight: anchorHeight, count: maxCount, parameters: parameters, now: now)
        var reader = WireReader(bytes)
        var index = 0
        var anchorHash = Hash256.zero
        var lastHash = Hash256.zero
        repeat {
            guard UInt64(anchorHeight) + UInt64(index) <= UInt64(UInt32.max) else {
                throw HeaderRuleError(height: anchorHeight, rule: .malformed, message: "run passes height 2^32")
            }
            let height = anchorHeight + UInt32(index)
            let header: ELAHeader
            do {
                header = try ELAHeader(reader: &reader, withAuxPow: true)
            } catch {
                throw HeaderRuleError(height: height, rule: .malformed, message: error.description)
            }
            guard header.height == height else {
                throw HeaderRuleError(height: height, rule: .linkage, message: "header says height \(header.height)")
            }
            let hash = header.hash
            if index == 0 {
                anchorHash = hash
            } else {
                guard header.previousHash == lastHash else {
                    throw HeaderRuleError(
                        height: height, rule: .linkage,
                        message: "previous hash \(header.previousHash.rawHex) is not the hash \(lastHash.rawHex)"
                            + " of height \(height - 1)"
                    )
                }
                let target = try state.target(bits: header.bits, height: height)
                try header.checkProofOfWork(hash: hash, target: target, height: height, parameters: parameters)
            }
            try state.accept(index: index, hash: UInt256(hash), timestamp: header.timestamp, bits: header.bits)
            lastHash = hash
            index += 1
        } while !reader.isAtEnd
        return RunSummary(
            count: index, anchorHash: anchorHash, tipHash: lastHash, tipHeight: anchorHeight + UInt32(index - 1),
            totalWork: state.totalWork)
    }
}

/// Context of a linear run: timestamps seen so far, the previous bits, a one-entry target/work cache and the
/// running total work.
struct RunState {
    let anchorHeight: UInt32
    let parameters: ChainParameters
    let now: UInt32?
    var timestamps: [UInt32]
    var lastBits: UInt32 = 0
    var cachedBits: UInt32 = 0
    var cachedTarget: UInt256 = .zero
    var cachedWork: UInt256 = .zero
    var totalWork: UInt256 = .zero
    let interval: Int
    let medianSpan: Int
    /// Checkpoint heights at or above the anchor, descending, so the next one is `last`.
    var checkpointHeights: [UInt32]

    init(anchorHeight: UInt32, count: Int, parameters: ChainParameters, now: UInt32?) {
        self.anchorHeight = anchorHeight
        self.parameters = parameters
        self.now = now
        timestamps = []
        timestamps.reserveCapacity(count)
        interval = Int(parameters.retarget.interval)
        medianSpan = parameters.medianTimeSpan
        checkpointHeights = parameters.checkpoints.keys.filter { $0 >= anchorHeight }.sorted(by: >)
    }

    /// Target of `bits` after the range check, cached for runs of equal bits.
    mutating func target(bits: UInt32, height: UInt32) throws(HeaderRuleError) -> UInt256 {
        if bits == cachedBits && !cachedTarget.isZero { return cachedTarget }
        let target = try Rules.target(bits: bits, height: height, parameters: parameters)
        cachedBits = bits
        cachedTarget = target
        cachedWork = ProofOfWork.work(target: target)
        return target
    }

    /// Contextual rules for the header at `index` (the anchor, index 0, only gets the checkpoint check), then
    /// records it.
    mutating func accept(index: Int, hash: UInt256, timestamp: UInt32, bits: UInt32) throws(HeaderRuleError) {
        let height = anchorHeight + UInt32(index)
        if index > 0 {
            try checkDifficulty(index: index, height: height, bits: bits)
            try checkMedianTime(index: index, height: height, timestamp: timestamp)
            if let now { try Rules.checkFutureTime(timestamp, now: now, parameters: parameters, height: height) }
        }
        if let next = checkpointHeights.last, next == height {
            checkpointHeights.removeLast()
            try Rules.checkCheckpoint(hash, height: height, parameters: parameters)
        }
        let work: UInt256
        if bits == cachedBits && !cachedWork.isZero {
            work = cachedWork
        } else {
            work = ProofOfWork.work(bits: bits)
        }
        totalWork = totalWork.saturatingAdd(work)
        timestamps.append(timestamp)
        lastBits = bits
    }

    func checkDifficulty(index: Int, height: UInt32, bits: UInt32) throws(HeaderRuleError) {
        let rule = parameters.retarget
        // Fast path: most headers simply keep the previous bits.
        if bits == lastBits && !rule.fixedAtPowLimit && !(rule.powLimitBitsAfterGenesis && height == 1)
            && !parameters.isRetargetHeight(height)
        {
            return
        }
        let first = interval > 0 && index >= interval ? timestamps[index - interval] : nil
        let requirement = parameters.requiredBits(
            height: height, parentBits: lastBits, parentTimestamp: timestamps[index - 1], periodFirstTimestamp: first)
        try Rules.checkBits(bits, requirement, height: height)
    }

    /// The median-time rule over the previous `medianSpan` timestamps, counted in place (see
    /// `Rules.checkMedianTime`).
    func checkMedianTime(index: Int, height: UInt32, timestamp: UInt32) throws(HeaderRuleError) {
        let n = min(index, medianSpan)
        guard n == medianSpan || anchorHeight == 0 else { return }
        let allowEqual = parameters.medianTimeAllowsEqual
        var passing = 0
        for j in (index - n)..<index where timestamps[j] < timestamp || (allowEqual && timestamps[j] == timestamp) {
            passing += 1
        }
        if passing < n / 2 + 1 {
            try Rules.checkMedianTime(
                timestamp, previous: Array(timestamps[(index - n)..<index]), allowEqual: allowEqual, height: height)
        }
    }
}

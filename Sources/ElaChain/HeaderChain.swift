public import ElaWire

/// The best header of a `HeaderChain`.
public struct ChainTip: Sendable, Hashable {
    public var hash: Hash256
    public var height: UInt32
    /// Cumulative work from the anchor, including the anchor's given work.
    public var chainWork: UInt256

    public init(hash: Hash256, height: UInt32, chainWork: UInt256) {
        self.hash = hash
        self.height = height
        self.chainWork = chainWork
    }
}

/// What `HeaderChain.add` did with a header.
public enum AddResult: Sendable, Equatable {
    /// The header extends the best chain.
    case extendedTip
    /// Stored on a branch that does not have more work than the best chain (equal work does not switch).
    case sideBranch
    /// The header's branch now has more work: `disconnected` are the old main-chain hashes removed (old tip
    /// first), `connected` the branch hashes that became main chain (lowest first, ending with this header).
    case reorganized(disconnected: [Hash256], connected: [Hash256])
    /// The header is already known.
    case duplicate
}

/// An in-memory header tree above a trusted anchor, with most-work fork choice. A value type with no I/O:
/// the caller supplies "now" and persists what it needs (`AddResult` says what changed). Every accepted main-chain
/// header stays in memory, so long-lived users re-anchor now and then (``reanchored(atHeight:)``); side branches are
/// bounded (``maxSideBranchHeaders``): a fork within the reorganization limit costs a peer only proof of work, which
/// on a test network is nothing.
///
/// Rules applied to every added header, in this order (the first failure is reported):
/// known parent (`unknownParent`), ELA height field (`linkage`), fork depth (`reorgTooDeep`) and fork below a
/// checkpoint (`checkpoint`), `targetRange`, proof of work (`auxPow`, `proofOfWork`), `difficulty`,
/// `medianTimePast`, `futureTime`, `checkpoint`.
///
/// History before the anchor is unknown, so: the median-time-past rule applies once 11 ancestors are stored
/// (or from genesis, with fewer); at a retarget boundary whose period start is below the anchor, the bits
/// only have to lie within the factor-4 clamp of the parent's target (`BitsRequirement.between`).
public struct HeaderChain<Header: ChainHeader>: Sendable {
    struct Node: Sendable {
        var key: UInt256
        var header: Header
        var hash: Hash256
        var height: UInt32
        var chainWork: UInt256
        /// nil for the anchor.
        var parent: UInt256?
    }

    public let parameters: ChainParameters
    public let anchorHeight: UInt32
    let anchorNode: Node
    var nodes: [UInt256: Node] = [:]
    /// Main-chain keys; index i is height `anchorHeight + i`.
    var mainChain: [UInt256] = []
    /// Timestamps of the main chain, parallel to `mainChain` (median-time and retarget lookups without hashing).
    var mainTimestamps: [UInt32] = []
    var workCache: (bits: UInt32, work: UInt256) = (0, .zero)
    /// Keys of the stored headers that are not on the main chain.
    var sideBranch: Set<UInt256> = []
    /// The most side-branch headers kept. Past it, those too far below the tip to ever be reorganized to are
    /// dropped, and if that frees nothing a header that would not lead is refused (`sideBranchLimit`).
    public static var maxSideBranchHeaders: Int { 4096 }

    /// Starts a chain at a trusted `anchor` (genesis or a checkpointed header) at `anchorHeight` whose
    /// cumulative work is `anchorChainWork` (use `ProofOfWork.work(bits:)` of the genesis for a chain from genesis).
    public init(parameters: ChainParameters, anchor: Header, anchorHeight: UInt32, anchorChainWork: UInt256) {
        self.parameters = parameters
        self.anchorHeight = anchorHeight
        let hash = anchor.hash
        let key = UInt256(hash)
        anchorNode = Node(
            key: key, header: anchor, hash: hash, height: anchorHeight, chainWork: anchorChainWork, parent: nil)
        nodes[key] = anchorNode
        mainChain = [key]
        mainTimestamps = [anchor.timestamp]
    }

    // MARK: Queries

    /// The best header: most cumulative work, first seen among equals.
    public var tip: ChainTip {
        let node = tipNode
        return ChainTip(hash: node.hash, height: node.height, chainWork: node.chainWork)
    }

    /// `mainChain` is never empty and all its keys are stored (`init`, `add` and `reorganize` keep this).
    var tipNode: Node {
        guard let key = mainChain.last, let node = nodes[key] else { return anchorNode }
        return node
    }

    /// Number of headers stored, on all branches, anchor included.
    public var count: Int { nodes.count }

    /// Height of a stored header on any branch.
    public func height(of hash: Hash256) -> UInt32? { nodes[UInt256(hash)]?.height }

    /// A stored header on any branch.
    public func header(for hash: Hash256) -> Header? { nodes[UInt256(hash)]?.header }

    /// Cumulative work up to a stored header.
    public func chainWork(of hash: Hash256) -> UInt256? { nodes[UInt256(hash)]?.chainWork }

    /// The main-chain header at `height`.
    public func header(atHeight height: UInt32) -> Header? {
        guard let key = mainKey(atHeight: height) else { return nil }
        return nodes[key]?.header
    }

    /// The main-chain hash at `height`.
    public func hash(atHeight height: UInt32) -> Hash256? {
        guard let key = mainKey(atHeight: height) else { return nil }
        return nodes[key]?.hash
    }

    /// Whether a stored header is on the best chain (false for side branches and unknown hashes).
    public func isOnMainChain(_ hash: Hash256) -> Bool { isMain(UInt256(hash)) }

    /// Median of the timestamps of the tip and up to 10 ancestors: the next header's timestamp must exceed it
    /// (or may equal it where `medianTimeAllowsEqual`, i.e. on ELA).
    public var medianTimePast: UInt32 { Rules.median(previousTimestamps(from: tipNode)) }

    /// Block locator in the style of Elastos.ELA.SPV `LatestBlockLocator`: from the tip back, 9 hashes at step 1,
    /// then 9 at step 2, 4, …, at most 100; the anchor is appended if the walk does not end on it.
    public func locator() -> [Hash256] {
        var result: [Hash256] = []
        var height = Int64(tipNode.height)
        var step: Int64 = 1
        var inGroup = 0
        while height >= Int64(anchorHeight) {
            if inGroup >= 9 {
                step *= 2
                inGroup = 0
            }
            if let h = hash(atHeight: UInt32(height)) { result.append(h) }
            if result.count >= 100 { return result }
            height -= step
            inGroup += 1
        }
        if let anchor = hash(atHeight: anchorHeight), result.last != anchor { result.append(anchor) }
        return result
    }

    func mainKey(atHeight height: UInt32) -> UInt256? {
        guard height >= anchorHeight else { return nil }
        let i = Int(height - anchorHeight)
        return i < mainChain.count ? mainChain[i] : nil
    }

    func isMain(_ key: UInt256) -> Bool {
        guard let node = nodes[key], let k = mainKey(atHeight: node.height) else { return false }
        return k == key
    }

    func isMain(_ node: Node) -> Bool { mainKey(atHeight: node.height) == node.key }

    /// Timestamp of the ancestor of `node` (or of `node` itself) at `height`, if stored.
    func ancestorTimestamp(of node: Node, atHeight height: UInt32) -> UInt32? {
        guard height >= anchorHeight, height <= node.height else { return nil }
        var current = node
        while current.height > height {
            if isMain(current) { return mainTimestamps[Int(height - anchorHeight)] }
            guard let parent = current.parent, let next = nodes[parent] else { return nil }
            current = next
        }
        return current.header.timestamp
    }

    /// Timestamps of `node` and up to `medianTimeSpan - 1` ancestors (in no particular order).
    func previousTimestamps(from node: Node) -> [UInt32] {
        let span = parameters.medianTimeSpan
        var out: [UInt32] = []
        out.reserveCapacity(span)
        var current = node
        while out.count < span {
            if isMain(current) {
                let end = Int(current.height - anchorHeight) + 1
                out.append(contentsOf: mainTimestamps[max(0, end - (span - out.count))..<end])
                return out
            }
            out.append(current.header.timestamp)
            guard let parent = current.parent, let next = nodes[parent] else { break }
            current = next
        }
        return out
    }

    /// Height of the last main-chain header on the path from `node` back to the anchor.
    func forkHeight(of node: Node) -> UInt32 {
        var current = node
        while !isMain(current) {
            guard let parent = current.parent, let next = nodes[parent] else { return anchorHeight }
            current = next
        }
        return current.height
    }

    func work(bits: UInt32) -> UInt256 {
        if workCache.bits == bits && !workCache.work.isZero { return workCache.work }
        return ProofOfWork.work(bits: bits)
    }

    // MARK: Adding headers

    /// Validates `header` against its stored parent and adds it. `now` is the caller's clock (Unix seconds)
    /// for the future-time rule. On failure nothing changes; the error names the height the header would have
    /// had (for `unknownParent`: the ELA height field, or 0 for Bitcoin headers, which carry none).
    @discardableResult
    public mutating func add(_ header: Header, now: UInt32) throws(HeaderRuleError) -> AddResult {
        let hash = header.hash
        let key = UInt256(hash)
        if nodes[key] != nil { return .duplicate }
        guard let parent = nodes[UInt256(header.previousHash)] else {
            throw HeaderRuleError(
                height: header.declaredHeight ?? 0, rule: .unknownParent,
                message: "parent \(header.previousHash.displayHex) of \(hash.displayHex) is not known")
        }
        guard parent.height < UInt32.max else {
            throw HeaderRuleError(height: parent.height, rule: .malformed, message: "height overflow")
        }
        let height = parent.height + 1
        if let declared = header.declaredHeight, declared != height {
            throw HeaderRuleError(
                height: height, rule: .linkage,
                message: "header says height \(declared) but its parent is at \(parent.height)")
        }
        let tip = tipNode
        let parentKey = parent.key
        let extendsTip = parentKey == mainChain.last
        if !extendsTip {
            try checkFork(from: parent, height: height, tipHeight: tip.height)
            // A header that would make its branch the best is never refused for space (nor is a reorganization).
            let wouldLead = parent.chainWork.saturatingAdd(work(bits: header.bits)) > tip.chainWork
            if sideBranch.count >= Self.maxSideBranchHeaders && !wouldLead {
                pruneSideBranches(tipHeight: tip.height)
                guard sideBranch.count < Self.maxSideBranchHeaders else {
                    throw HeaderRuleError(
                        height: height, rule: .sideBranchLimit,
                        message: "\(sideBranch.count) side-branch headers within \(parameters.reorgDepthLimit) blocks of the tip are stored already")
                }
            }
        }

        let target = try Rules.target(bits: header.bits, height: height, parameters: parameters)
        try header.checkProofOfWork(hash: hash, target: target, height: height, parameters: parameters)
        let periodFirst: UInt32? =
            height >= parameters.retarget.interval
            ? ancestorTimestamp(of: parent, atHeight: height - parameters.retarget.interval) : nil
        let requirement = parameters.requiredBits(
            height: height, parentBits: parent.header.bits, parentTimestamp: parent.header.timestamp,
            periodFirstTimestamp: periodFirst)
        try Rules.checkBits(header.bits, requirement, height: height)
        let previous = previousTimestamps(from: parent)
        if previous.count >= parameters.medianTimeSpan || anchorHeight == 0 {
            try Rules.checkMedianTime(
                header.timestamp, previous: previous, allowEqual: parameters.medianTimeAllowsEqual, height: height)
        }
        try Rules.checkFutureTime(header.timestamp, now: now, parameters: parameters, height: height)
        try Rules.checkCheckpoint(key, height: height, parameters: parameters)

        let headerWork = work(bits: header.bits)
        workCache = (header.bits, headerWork)
        let node = Node(
            key: key, header: header, hash: hash, height: height, chainWork: parent.chainWork.saturatingAdd(headerWork),
            parent: parentKey)
        nodes[key] = node
        if extendsTip {
            mainChain.append(key)
            mainTimestamps.append(header.timestamp)
            return .extendedTip
        }
        sideBranch.insert(key)
        guard node.chainWork > tip.chainWork else { return .sideBranch }
        return reorganize(to: node)
    }

    /// Drops side-branch headers more than the reorganization limit below the tip (no header can join them any
    /// more), and their descendants.
    mutating func pruneSideBranches(tipHeight: UInt32) {
        // Parents before children: one pass in height order finds the descendants too.
        var dropped = Set<UInt256>()
        for node in sideBranch.compactMap({ nodes[$0] }).sorted(by: { $0.height < $1.height }) {
            let tooDeep = UInt64(node.height) + UInt64(parameters.reorgDepthLimit) < UInt64(tipHeight)
            if tooDeep || node.parent.map(dropped.contains) == true { dropped.insert(node.key) }
        }
        for key in dropped { nodes[key] = nil }
        sideBranch.subtract(dropped)
    }

    /// The same chain anchored at its main-chain header at `height` instead: what lies below is forgotten, so a
    /// long-lived user's memory stays bounded. Headers above are re-added (and so re-checked), the whole main chain
    /// first, so the tip stays; side branches more than the reorganization limit below the tip are dropped, as
    /// ``pruneSideBranches(tipHeight:)`` would. Nil when `height` is not above the anchor, beyond the tip, or the
    /// rebuilt chain would not end at the same tip. `height` must leave a retarget period and the median-time span
    /// above it for new headers' checks.
    public func reanchored(atHeight height: UInt32) -> HeaderChain? {
        guard height > anchorHeight, let key = mainKey(atHeight: height), let anchor = nodes[key] else { return nil }
        var chain = HeaderChain(parameters: parameters, anchor: anchor.header, anchorHeight: height, anchorChainWork: .zero)
        let tipHeight = tip.height
        // The whole main chain first, so no side branch can take over midway (on equal work the first seen stays).
        for h in stride(from: height + 1, through: tipHeight, by: 1) {
            guard let key = mainKey(atHeight: h), let node = nodes[key] else { return nil }
            guard (try? chain.add(node.header, now: UInt32.max - 86_400)) != nil else { return nil }
        }
        let side = nodes.values.filter { n in
            n.height > height && !isMain(n) && UInt64(n.height) + UInt64(parameters.reorgDepthLimit) >= UInt64(tipHeight)
        }
        for node in side.sorted(by: { $0.height < $1.height }) {
            // Checked when first added; a side branch whose fork point is below the new anchor cannot join (dropped).
            _ = try? chain.add(node.header, now: UInt32.max - 86_400)
        }
        return chain.tip.hash == tip.hash ? chain : nil
    }

    /// Every stored header, anchor included, lowest first, with whether it is on the main chain: what a user persists
    /// to rebuild the chain as it is.
    public var storedHeaders: [(header: Header, hash: Hash256, height: UInt32, chainWork: UInt256, onMainChain: Bool)] {
        nodes.values.sorted { ($0.height, isMain($0) ? 0 : 1) < ($1.height, isMain($1) ? 0 : 1) }
            .map { ($0.header, $0.hash, $0.height, $0.chainWork, isMain($0)) }
    }

    /// Refuses a header on a branch that forks too deep below the tip, or below a checkpoint the main chain
    /// has passed (such a branch can never become main chain).
    func checkFork(from parent: Node, height: UInt32, tipHeight: UInt32) throws(HeaderRuleError) {
        let fork = forkHeight(of: parent)
        let depth = tipHeight - fork
        if depth > parameters.reorgDepthLimit {
            throw HeaderRuleError(
                height: height, rule: .reorgTooDeep,
                message: "branch forks at height \(fork), \(depth) blocks below the tip \(tipHeight); "
                    + "the limit is \(parameters.reorgDepthLimit)"
            )
        }
        if let passed = parameters.checkpoints.keys.filter({ $0 > fork && $0 <= tipHeight }).min() {
            throw HeaderRuleError(
                height: height, rule: .checkpoint, message: "branch forks at height \(fork), below checkpoint \(passed)"
            )
        }
    }

    /// Makes `node`'s branch the main chain.
    mutating func reorganize(to node: Node) -> AddResult {
        var branch: [Node] = []
        var current = node
        while !isMain(current) {
            branch.append(current)
            guard let parent = current.parent, let next = nodes[parent] else { break }
            current = next
        }
        let forkIndex = Int(current.height - anchorHeight)
        var disconnected: [Hash256] = []
        for i in stride(from: mainChain.count - 1, to: forkIndex, by: -1) {
            if let n = nodes[mainChain[i]] { disconnected.append(n.hash) }
            sideBranch.insert(mainChain[i])
        }
        mainChain.removeSubrange((forkIndex + 1)...)
        mainTimestamps.removeSubrange((forkIndex + 1)...)
        var connected: [Hash256] = []
        for n in branch.reversed() {
            sideBranch.remove(n.key)
            mainChain.append(n.key)
            mainTimestamps.append(n.header.timestamp)
            connected.append(n.hash)
        }
        return .reorganized(disconnected: disconnected, connected: connected)
    }
}

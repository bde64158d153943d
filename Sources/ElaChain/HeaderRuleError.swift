/// Why a header was refused: the height it would have had, the consensus rule, and details.
public struct HeaderRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Rule: String, Sendable, Equatable {
        /// `previousHash` is not the hash of the header before it (or ELA's height field disagrees).
        case linkage
        /// The hash (ELA: the AuxPoW parent header's hash) is above the target.
        case proofOfWork
        /// The bits do not encode a target in 0 < target <= powLimit.
        case targetRange
        /// The bits differ from what the retarget rule requires.
        case difficulty
        /// The timestamp is not after the median of the previous 11 (ELA: is before it).
        case medianTimePast
        /// The timestamp is more than `maxFutureSeconds` ahead of the caller's clock.
        case futureTime
        /// A checkpoint height has a different hash, or the header forks below a checkpoint.
        case checkpoint
        /// The AuxPoW is missing or does not commit to this header.
        case auxPow
        /// The bytes do not decode as a header.
        case malformed
        /// Accepting the header would need a reorganization deeper than `reorgDepthLimit`.
        case reorgTooDeep
        /// The parent is not known (an orphan).
        case unknownParent
        /// As many side-branch headers within the reorganization limit as the chain keeps are stored already.
        case sideBranchLimit
    }

    /// Height the header has (or would have) in the chain.
    public var height: UInt32
    public var rule: Rule
    public var message: String

    public init(height: UInt32, rule: Rule, message: String) {
        self.height = height
        self.rule = rule
        self.message = message
    }

    public var description: String { "header at height \(height) violates \(rule.rawValue): \(message)" }
}

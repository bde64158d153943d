/// Why the regtest node refused something. `kind` says whose fault it is (the caller's request, a block, the
/// store); the message names the offending value so a user can act on it.
public struct RegtestError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// A control request or its parameters are wrong (bad count, unknown height, malformed DID request).
        case invalidRequest
        /// A block (mined, forked or loaded from the store) breaks a chain rule.
        case invalidBlock
        /// The SQLite store failed or holds data that does not decode.
        case storage
        /// Binding or running the P2P listener failed.
        case network
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// A TOML syntax or semantic error (bad UTF-8, bad escape, redefined key, ...), with where it happened.
public struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem was detected.
    public var position: TOMLPosition
    /// What is wrong, in words a user can act on.
    public var message: String

    /// Creates an error at `position`.
    public init(position: TOMLPosition, message: String) {
        self.position = position
        self.message = message
    }

    /// "line L, column C: message".
    public var description: String { "line \(position.line), column \(position.column): \(message)" }
}

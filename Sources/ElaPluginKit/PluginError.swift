/// What a method handler throws. The kind picks the JSON-RPC error code the host receives; the message is shown to
/// the caller as is, so say what was wrong and what would be right ("pin FOO is unknown; valid pins: LED0, LED1").
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The JSON-RPC error code sent to the host.
        public let code: Int
        let name: String
        /// Bad or missing params: -32602.
        public static let invalidParams = Kind(code: -32602, name: "invalid params")
        /// The plugin's own failure (device busy, line held, ...): -32000.
        public static let failed = Kind(code: -32000, name: "failed")
        /// A bug or an unexpected condition inside the plugin: -32603.
        public static let internalError = Kind(code: -32603, name: "internal error")
        public var description: String { name }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The caller's params are wrong (JSON-RPC -32602). Name the key and what it must be.
    public static func invalidParams(_ message: String) -> PluginError { PluginError(.invalidParams, message) }
    /// The request was understood but cannot be done now (JSON-RPC -32000): device busy, line held, ...
    public static func failed(_ message: String) -> PluginError { PluginError(.failed, message) }
    /// Something inside the plugin went wrong (JSON-RPC -32603).
    public static func internalError(_ message: String) -> PluginError { PluginError(.internalError, message) }

    public var description: String { "\(kind): \(message)" }
}

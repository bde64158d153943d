public import ElaJSON

/// Why a plugin-protocol exchange failed. `code` is the JSON-RPC error code sent back when a reply is possible.
public struct PluginProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public let code: Int
        let name: String
        public static let parseError = Kind(code: -32700, name: "parse error")
        public static let invalidRequest = Kind(code: -32600, name: "invalid request")
        public static let methodNotFound = Kind(code: -32601, name: "method not found")
        public static let invalidParams = Kind(code: -32602, name: "invalid params")
        public static let internalError = Kind(code: -32603, name: "internal error")
        /// The plugin's own failure (device busy, line held, ...); the message says what.
        public static let pluginError = Kind(code: -32000, name: "plugin error")
        public static let frameTooLarge = Kind(code: -32001, name: "frame too large")
        public static let versionMismatch = Kind(code: -32002, name: "protocol version mismatch")
        public static let notReady = Kind(code: -32003, name: "handshake not done")
        public var description: String { name }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}

/// One JSON-RPC 2.0 message between host and plugin.
public enum PluginMessage: Sendable, Equatable {
    case request(id: Int64, method: String, params: JSONObject)
    case response(id: Int64, result: JSONValue)
    case failure(id: Int64?, PluginProtocolError)
    /// An event from the plugin (or a host notice to it): no reply.
    case notification(method: String, params: JSONObject)

    public func encoded() -> [UInt8] {
        var o = JSONObject([("jsonrpc", "2.0")])
        switch self {
        case .request(let id, let method, let params):
            o["id"] = .number(JSONNumber(id))
            o["method"] = .string(method)
            o["params"] = .object(params)
        case .response(let id, let result):
            o["id"] = .number(JSONNumber(id))
            o["result"] = result
        case .failure(let id, let error):
            o["id"] = id.map { .number(JSONNumber($0)) } ?? .null
            o["error"] = .object(JSONObject([("code", .number(JSONNumber(error.kind.code))), ("message", .string(error.message))]))
        case .notification(let method, let params):
            o["method"] = .string(method)
            o["params"] = .object(params)
        }
        return PluginFraming.encode(JSONWriter.compactBytes(.object(o)))
    }

    /// Decodes one frame payload. Anything that is not a well-formed JSON-RPC 2.0 object is a typed error.
    public init(payload: [UInt8]) throws(PluginProtocolError) {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: payload, maxDepth: 64) } catch {
            throw PluginProtocolError(.parseError, error.description)
        }
        guard let o = value.objectValue else { throw PluginProtocolError(.invalidRequest, "a message must be a JSON object") }
        guard o["jsonrpc"] == "2.0" else { throw PluginProtocolError(.invalidRequest, "\"jsonrpc\" must be \"2.0\"") }
        let id: Int64?
        switch o["id"] {
        case nil, .null?: id = nil
        case .number(let n)?:
            guard let v = n.int64Value else { throw PluginProtocolError(.invalidRequest, "\"id\" must be an integer") }
            id = v
        default: throw PluginProtocolError(.invalidRequest, "\"id\" must be an integer")
        }
        let params: JSONObject
        switch o["params"] {
        case nil, .null?: params = JSONObject()
        case .object(let p)?: params = p
        default: throw PluginProtocolError(.invalidParams, "\"params\" must be an object")
        }
        if let methodValue = o["method"] {
            guard let method = methodValue.stringValue, !method.isEmpty else {
                throw PluginProtocolError(.invalidRequest, "\"method\" must be a non-empty string")
            }
            self = id.map { .request(id: $0, method: method, params: params) } ?? .notification(method: method, params: params)
        } else if let error = o["error"] {
            guard let e = error.objectValue, let code = e["code"]?.numberValue?.int64Value, let message = e["message"]?.stringValue else {
                throw PluginProtocolError(.invalidRequest, "\"error\" must have an integer code and a message")
            }
            let known: [PluginProtocolError.Kind] = [
                .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError, .pluginError, .frameTooLarge,
                .versionMismatch, .notReady,
            ]
            let kind = known.first { Int64($0.code) == code } ?? .pluginError
            self = .failure(id: id, PluginProtocolError(kind, message))
        } else if let result = o["result"], let id {
            self = .response(id: id, result: result)
        } else {
            throw PluginProtocolError(.invalidRequest, "neither a request, a notification nor a response")
        }
    }
}

public import ElaJSON

/// Why a command from the broker was refused before reaching the agent. `code` is the JSON-RPC code in the reply.
public struct CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        public let code: Int
        let name: String
        public static let oversize = Kind(code: -32001, name: "payload too large")
        public static let notUTF8 = Kind(code: -32700, name: "payload is not UTF-8")
        public static let notJSON = Kind(code: -32700, name: "payload is not JSON")
        public static let malformed = Kind(code: -32600, name: "malformed command")
        public static let methodMismatch = Kind(code: -32602, name: "method mismatch")
        public var description: String { name }
    }

    public var kind: Kind
    public var message: String
    /// The reply id, when the payload was readable far enough to find it.
    public var replyID: String?

    public init(_ kind: Kind, _ message: String, replyID: String? = nil) {
        self.kind = kind
        self.message = message
        self.replyID = replyID
    }

    public var description: String { "\(kind): \(message)" }
}

/// A command from `<base>/cmd/<method>`: `{"id": "<reply id>", "request": "<signed request JSON text>"}`.
/// Only the envelope is checked here; the signature, freshness, replay and grants are the agent's gate's business.
public struct CommandEnvelope: Sendable, Equatable {
    public var id: String
    /// The signed request text, passed to the gate unchanged.
    public var request: String
    public var method: String

    /// Decodes a payload that arrived on the topic for `topicMethod`. Never traps; every failure is typed.
    public init(payload: [UInt8], topicMethod: String, maxBytes: Int) throws(CommandError) {
        guard payload.count <= maxBytes else {
            throw CommandError(.oversize, "\(payload.count) bytes; at most \(maxBytes) are accepted")
        }
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw CommandError(.notUTF8, "the payload must be UTF-8 JSON")
        }
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch {
            throw CommandError(.notJSON, "\(error)")
        }
        guard let o = value.objectValue else { throw CommandError(.malformed, "the payload must be a JSON object {\"id\":..., \"request\":...}") }
        guard let id = o["id"]?.stringValue, MQTTTopics.isValidRequestID(id) else {
            throw CommandError(.malformed, "\"id\" must be 1...64 characters of A-Z a-z 0-9 - _ . : (it names the reply topic)")
        }
        guard let request = o["request"]?.stringValue, !request.isEmpty else {
            throw CommandError(.malformed, "\"request\" must be the signed request as JSON text (elactl call --as ... prints one)", replyID: id)
        }
        // The gate verifies the signature over the request's own method; the topic must agree with it.
        guard let inner = try? JSONParser.parse(request), let method = inner["method"]?.stringValue else {
            throw CommandError(.malformed, "\"request\" is not a signed request (no method)", replyID: id)
        }
        guard method == topicMethod else {
            throw CommandError(.methodMismatch, "the topic names \(topicMethod) but the signed request is for \(method)", replyID: id)
        }
        self.id = id
        self.request = request
        self.method = method
    }

    /// `{"id":..., "result":...}`
    public static func reply(id: String, result: JSONValue) -> [UInt8] {
        JSONWriter.compactBytes(.object(JSONObject([("id", .string(id)), ("result", result)])))
    }

    /// `{"id":..., "error":{"code":..., "message":...}}`
    public static func reply(id: String, code: Int, message: String) -> [UInt8] {
        JSONWriter.compactBytes(
            .object(JSONObject([
                ("id", .string(id)),
                ("error", .object(JSONObject([("code", .number(JSONNumber(code))), ("message", .string(message))]))),
            ])))
    }
}

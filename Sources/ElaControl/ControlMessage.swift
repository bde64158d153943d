public import ElaJSON

/// The control protocol between `elactl` and `ela-agent`: one JSON-RPC 2.0 object per line over the unix
/// socket (`<runtime-dir>/control.sock`, mode 0660). Compact JSON never contains a raw newline, so a line is a frame.
public enum ControlProtocol {
    public static let version = 1
    /// Larger requests are refused before parsing.
    public static let maxFrameBytes = 1 << 20
    public static let socketName = "control.sock"
}

public struct ControlRequest: Sendable, Equatable {
    public var id: Int64
    public var method: String
    public var params: JSONObject

    public init(id: Int64, method: String, params: JSONObject = JSONObject()) {
        self.id = id
        self.method = method
        self.params = params
    }

    public func encoded() -> [UInt8] {
        var o = JSONObject([("jsonrpc", "2.0"), ("id", .number(JSONNumber(id))), ("method", .string(method))])
        if !params.isEmpty { o["params"] = .object(params) }
        return JSONWriter.compactBytes(.object(o)) + [0x0A]
    }

    /// Decodes one frame (without its newline). Errors are ready to send back as the reply.
    public init(frame: [UInt8]) throws(ControlError) {
        let v: JSONValue
        do { v = try JSONParser.parse(bytes: frame, maxDepth: 64) } catch {
            throw ControlError(code: ControlError.parseError, message: error.description)
        }
        guard let o = v.objectValue else { throw ControlError(code: ControlError.invalidRequest, message: "request must be an object") }
        guard o["jsonrpc"] == "2.0" else { throw ControlError(code: ControlError.invalidRequest, message: "jsonrpc must be \"2.0\"") }
        guard let id = o["id"]?.numberValue?.int64Value else {
            throw ControlError(code: ControlError.invalidRequest, message: "id must be an integer")
        }
        guard let method = o["method"]?.stringValue, !method.isEmpty else {
            throw ControlError(code: ControlError.invalidRequest, message: "method must be a non-empty string")
        }
        let params: JSONObject
        switch o["params"] {
        case nil, .null?: params = JSONObject()
        case .object(let p)?: params = p
        default: throw ControlError(code: ControlError.invalidParams, message: "params must be an object")
        }
        self.init(id: id, method: method, params: params)
    }
}

public struct ControlResponse: Sendable, Equatable {
    public var id: Int64?
    public var outcome: Result<JSONValue, ControlError>

    public init(id: Int64?, outcome: Result<JSONValue, ControlError>) {
        self.id = id
        self.outcome = outcome
    }

    public func encoded() -> [UInt8] {
        var o = JSONObject([("jsonrpc", "2.0"), ("id", id.map { .number(JSONNumber($0)) } ?? .null)])
        switch outcome {
        case .success(let r): o["result"] = r
        case .failure(let e):
            o["error"] = .object(JSONObject([("code", .number(JSONNumber(e.code))), ("message", .string(e.message))]))
        }
        return JSONWriter.compactBytes(.object(o)) + [0x0A]
    }

    public init(frame: [UInt8]) throws(ControlError) {
        let v: JSONValue
        do { v = try JSONParser.parse(bytes: frame) } catch {
            throw ControlError(code: ControlError.parseError, message: "bad reply from the agent: \(error)")
        }
        guard let o = v.objectValue else { throw ControlError(code: ControlError.parseError, message: "bad reply from the agent") }
        id = o["id"]?.numberValue?.int64Value
        if let e = o["error"]?.objectValue {
            let code = e["code"]?.numberValue?.int64Value.flatMap { Int(exactly: $0) } ?? ControlError.internalError
            outcome = .failure(ControlError(code: code, message: e["message"]?.stringValue ?? "unknown error"))
        } else if let r = o["result"] {
            outcome = .success(r)
        } else {
            throw ControlError(code: ControlError.parseError, message: "reply has neither result nor error")
        }
    }
}

/// A JSON-RPC error; the standard codes plus the agent's own (-32000 and below).
public struct ControlError: Error, Sendable, Equatable, CustomStringConvertible {
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    public static let frameTooLarge = -32001
    /// The plugin answered with an error of its own (device busy, line held, ...).
    public static let pluginError = -32000
    /// A named thing (plugin, grant, subscription) does not exist.
    public static let notFound = -32004
    /// The gate refused the call; the message says why. The decision is in the audit log.
    public static let denied = -32010
    /// The plugin serving the method is not running (state in the message).
    public static let unavailable = -32011

    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

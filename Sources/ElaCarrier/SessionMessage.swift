public import ElaJSON

/// What travels over an established friend link, one JSON object per link message (chunked by the carrier):
///
/// | `t` | direction | members |
/// |---|---|---|
/// | `challenge` | device -> DApp | `challenge` (hex), `device` (device DID), `key` (its session X25519 key, hex) |
/// | `auth` | DApp -> device | `proof` (a signed `carrier.session` request text) |
/// | `ready` / `denied` | device -> DApp | `challenge` the session answered (ready), `reason` (denied) |
/// | `call` | DApp -> device | `id` and either `body` + `tag` (sealed with the session key, ``SessionSeal``) or `request` (a signed request text); gated like `elactl call --as` |
/// | `subscribe` | DApp -> device | as `call`; the method is the event name |
/// | `unsubscribe` | DApp -> device | `sub`: the subscription's id; the device stops its events and frees its slot |
/// | `reply` | device -> DApp | `id`, `result` or `error {code, message}` |
/// | `event` | device -> DApp | `sub`, `plugin`, `event`, `params`, `atMs` |
/// | `resume` | DApp -> device | asks an admitted DApp's device for a fresh challenge (session lost, link up) |
/// | `ping` / `pong` | DApp -> device / back | `n`; toxcore notices a dead peer only after ~32 s, the DApp sooner |
public enum SessionMessage: Sendable, Equatable {
    case challenge(String, device: String, sessionKey: String?)
    case auth(proof: String)
    /// The session of this challenge is open (nil from devices before session keys).
    case ready(challenge: String?)
    case denied(String)
    case call(id: Int64, SessionRequest)
    case subscribe(id: Int64, SessionRequest)
    /// Not sealed: it only stops events to the DApp's own session, which whoever could forge it (the carrier on
    /// either end) could as well do by dropping them.
    case unsubscribe(sub: Int64)
    case reply(id: Int64, result: Result<JSONValue, RemoteError>)
    case event(sub: Int64, plugin: String, event: String, params: JSONObject, atMs: Int64)
    case resume
    case ping(Int64)
    case pong(Int64)

    public var json: JSONValue {
        func n(_ v: Int64) -> JSONValue { .number(JSONNumber(v)) }
        switch self {
        case .challenge(let c, let device, let key):
            var o: JSONObject = ["t": "challenge", "challenge": .string(c), "device": .string(device)]
            if let key { o["key"] = .string(key) }
            return .object(o)
        case .auth(let proof): return .object(["t": "auth", "proof": .string(proof)])
        case .ready(let challenge):
            return .object(challenge.map { ["t": "ready", "challenge": .string($0)] } ?? ["t": "ready"])
        case .denied(let reason): return .object(["t": "denied", "reason": .string(reason)])
        case .call(let id, let request): return .object(request.members(["t": "call", "id": n(id)]))
        case .subscribe(let id, let request): return .object(request.members(["t": "subscribe", "id": n(id)]))
        case .unsubscribe(let sub): return .object(["t": "unsubscribe", "sub": n(sub)])
        case .reply(let id, .success(let v)): return .object(["t": "reply", "id": n(id), "result": v])
        case .reply(let id, .failure(let e)):
            return .object(["t": "reply", "id": n(id), "error": .object(["code": n(e.code), "message": .string(e.message)])])
        case .resume: return .object(["t": "resume"])
        case .ping(let v): return .object(["t": "ping", "n": n(v)])
        case .pong(let v): return .object(["t": "pong", "n": n(v)])
        case .event(let sub, let plugin, let event, let params, let atMs):
            return .object([
                "t": "event", "sub": n(sub), "plugin": .string(plugin), "event": .string(event), "params": .object(params),
                "atMs": n(atMs),
            ])
        }
    }

    public var text: String { JSONWriter.compact(json) }

    public init(text: String) throws(CarrierProtocolError) {
        let v: JSONValue
        do { v = try JSONParser.parse(text, maxDepth: 64) } catch { throw CarrierProtocolError("link message is not JSON: \(error)") }
        try self.init(json: v)
    }

    public init(json v: JSONValue) throws(CarrierProtocolError) {
        guard let o = v.objectValue, let t = o["t"]?.stringValue else { throw CarrierProtocolError("link message has no \"t\"") }
        func s(_ k: String) throws(CarrierProtocolError) -> String {
            guard let x = o[k]?.stringValue else { throw CarrierProtocolError("\(t): \"\(k)\" must be a string") }
            return x
        }
        func i(_ k: String) throws(CarrierProtocolError) -> Int64 {
            guard let x = o[k]?.numberValue?.int64Value else { throw CarrierProtocolError("\(t): \"\(k)\" must be an integer") }
            return x
        }
        switch t {
        case "challenge":
            guard o["key"] == nil || o["key"]?.stringValue != nil else { throw CarrierProtocolError("challenge: \"key\" must be a string") }
            self = .challenge(try s("challenge"), device: try s("device"), sessionKey: o["key"]?.stringValue)
        case "auth": self = .auth(proof: try s("proof"))
        case "ready": self = .ready(challenge: o["challenge"]?.stringValue)
        case "denied": self = .denied((try? s("reason")) ?? "")
        case "call", "subscribe":
            let id = try i("id")
            let request: SessionRequest
            if o["request"] != nil {
                request = .signed(try s("request"))
            } else {
                request = .sealed(body: try s("body"), tag: try s("tag"))
            }
            self = t == "call" ? .call(id: id, request) : .subscribe(id: id, request)
        case "unsubscribe": self = .unsubscribe(sub: try i("sub"))
        case "reply":
            let id = try i("id")
            if let e = o["error"]?.objectValue {
                self = .reply(
                    id: id,
                    result: .failure(
                        RemoteError(code: e["code"]?.numberValue?.int64Value ?? -32603, message: e["message"]?.stringValue ?? "")))
            } else {
                self = .reply(id: id, result: .success(o["result"] ?? .null))
            }
        case "event":
            self = .event(
                sub: try i("sub"), plugin: try s("plugin"), event: try s("event"), params: o["params"]?.objectValue ?? JSONObject(),
                atMs: o["atMs"]?.numberValue?.int64Value ?? 0)
        case "resume": self = .resume
        case "ping": self = .ping(try i("n"))
        case "pong": self = .pong(try i("n"))
        default: throw CarrierProtocolError("unknown link message type \"\(t)\"")
        }
    }
}

/// What a `call` or `subscribe` carries.
public enum SessionRequest: Sendable, Equatable {
    /// A signed request's text (`SignedRequest`), checked like `elactl call --as`.
    case signed(String)
    /// `{"method", "params"}` text and its tag under the session key (``SessionSeal``).
    case sealed(body: String, tag: String)

    func members(_ base: JSONObject) -> JSONObject {
        var o = base
        switch self {
        case .signed(let text): o["request"] = .string(text)
        case .sealed(let body, let tag):
            o["body"] = .string(body)
            o["tag"] = .string(tag)
        }
        return o
    }
}

/// An error answer from the device: a JSON-RPC style code and message.
public struct RemoteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int64
    public var message: String
    public init(code: Int64, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(message) (code \(code))" }

    /// The gate denied the call or subscription (a decision, in the audit log).
    public static let denied: Int64 = -32000
    /// The gate could not decide (its audit log could not be written): try again later.
    public static let unavailable: Int64 = -32004
    /// A session message the device did not take as the DApp's: a bad tag, a replayed or too old id, no session key.
    public static let messageRefused: Int64 = -32010
    /// Sent for a subscription's id once the subscription has ended (its grant was revoked or expired): no more
    /// events follow.
    public static let subscriptionEnded: Int64 = -32009
    /// The session holds as many subscriptions as the device keeps for one (each costs a queue and a task); they end
    /// with an `unsubscribe` or with the session.
    public static let tooManySubscriptions: Int64 = -32011
    /// The plugin refused or failed the call (its message says why: a line held, a device busy, a frame too large).
    /// Plugins' own codes in -32000...-32099 would read as the carrier's (-32000 denied, -32001 no session), so they
    /// arrive as this one; JSON-RPC's standard codes (invalid params, method not found) pass unchanged.
    public static let pluginFailed: Int64 = -32012

    /// The code a DApp gets for a plugin's error `code`.
    public static func fromPlugin(_ code: Int) -> Int64 {
        (-32099...(-32000)).contains(code) ? pluginFailed : Int64(code)
    }
}

public import ElaCrypto
public import ElaJSON

/// Calls inside an open session, authenticated by a MAC instead of a signature each.
///
/// The device's challenge carries its ephemeral X25519 key; the DApp's session proof (signed by its DID key) carries
/// the DApp's. Both derive one HMAC-SHA256 key (``derive(own:peer:challenge:dappKey:deviceKey:)``), which neither
/// ela-carrier process knows: a compromised carrier can drop or delay calls, but not forge one, and the
/// ``ReplayWindow`` stops it replaying one. Per call that costs two HMACs instead of a P-256 signature on the DApp and
/// a verification plus a nonce-table write on the device.
///
/// A sealed request is `{"method": m, "params": {...}}` as text (the `body`) and the hex tag over
/// `"ela-carrier-call" 0 kind 0 id 0 body`, where kind is `call` or `subscribe`: a tag is good for one message id
/// and kind only.
public enum SessionSeal {
    public static let info = Array("ela-carrier-session-v1".utf8)

    /// The session's MAC key: HKDF-SHA256 over the X25519 secret, salted with the challenge, bound to both public keys
    /// (DApp's first).
    public static func derive(
        own: SessionKeyPair, peer: [UInt8], challenge: String, dappKey: [UInt8], deviceKey: [UInt8]
    ) throws(KeyError) -> SessionMACKey {
        try own.agree(peerPublicKey: peer, salt: Array(challenge.utf8), info: info + dappKey + deviceKey)
    }

    public static func body(method: String, params: JSONObject) -> String {
        JSONWriter.compact(.object(["method": .string(method), "params": .object(params)]))
    }

    public static func tag(_ key: SessionMACKey, kind: String, id: Int64, body: String) -> String {
        Hex.encode(key.tag(message(kind: kind, id: id, body: body)))
    }

    /// The method and params of a sealed request whose tag is good, else why not (the message is then dropped
    /// unheard: it did not come from the session's DApp).
    public static func open(
        _ key: SessionMACKey, kind: String, id: Int64, body: String, tag: String
    ) -> Result<(method: String, params: JSONObject), CarrierProtocolError> {
        guard let given = try? Hex.decode(tag), given.count == SessionMACKey.tagBytes,
            key.isValid(tag: given, over: message(kind: kind, id: id, body: body))
        else { return .failure(CarrierProtocolError("bad session tag on \(kind) \(id)")) }
        guard let object = (try? JSONParser.parse(body, maxDepth: 64))?.objectValue,
            let method = object["method"]?.stringValue, !method.isEmpty
        else { return .failure(CarrierProtocolError("sealed \(kind) \(id): body must be {\"method\": ..., \"params\": {...}}")) }
        switch object["params"] {
        case nil, .null?: return .success((method, JSONObject()))
        case .object(let params)?: return .success((method, params))
        default: return .failure(CarrierProtocolError("sealed \(kind) \(id): params must be an object"))
        }
    }

    /// What the tag covers.
    static func message(kind: String, id: Int64, body: String) -> [UInt8] {
        Array("ela-carrier-call\0\(kind)\0\(id)\0\(body)".utf8)
    }
}

/// Which message ids a session has already accepted: ids above the highest seen are new; of the 64 below it, those
/// not yet seen are new too (a DApp's concurrent calls may leave in another order than their ids); anything older
/// is refused. The same scheme as IPsec's and DTLS's anti-replay window.
public struct ReplayWindow: Sendable, Equatable {
    public static let width: Int64 = 64
    public private(set) var highest: Int64 = 0
    /// Bit i: id `highest - i` was seen.
    private var seen: UInt64 = 0

    public init() {}

    /// True (and remembered) when `id` is new; ids must be positive.
    public mutating func accept(_ id: Int64) -> Bool {
        guard id > 0 else { return false }
        if id > highest {
            let shift = id - highest
            seen = shift >= Self.width ? 1 : (seen << UInt64(shift)) | 1
            highest = id
            return true
        }
        let age = highest - id
        guard age < Self.width else { return false }
        let bit: UInt64 = 1 << UInt64(age)
        guard seen & bit == 0 else { return false }
        seen |= bit
        return true
    }
}

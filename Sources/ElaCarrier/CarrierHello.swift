import ElaGate
public import ElaIdentity
public import ElaCrypto
import ElaJSON

/// The hello a DApp puts in its Tox friend request: a signed request (`SignedRequest`, the envelope every remote
/// call uses) with method `carrier.hello` whose params bind the DApp's DID to its Tox key and name the device:
/// `{"toxKey": <user id of the sender>, "device": <user id of the device>}`. It must fit Tox's 1016-byte request.
public enum CarrierHello {
    public static let method = "carrier.hello"
    public static let maxBytes = 1016

    public static func make(
        did: DID, key: ElaPrivateKey, toxUserID: String, deviceUserID: String, now: Int64, nonce: String? = nil
    ) throws -> [UInt8] {
        let request = try SignedRequest.sign(
            method: method, params: ["toxKey": .string(toxUserID), "device": .string(deviceUserID)], privateKey: key, did: did,
            now: now, nonce: nonce)
        let bytes = Array(request.text.utf8)
        guard bytes.count <= maxBytes else { throw CarrierProtocolError("hello is \(bytes.count) bytes; Tox allows \(maxBytes)") }
        return bytes
    }
}

/// The answer to a device's challenge: a signed request `carrier.session` with params
/// `{"challenge": <hex the device sent>, "toxKey": <our user id>, "device": <device user id>}`. Signing a fresh random
/// challenge proves the DID key is behind this very Tox link now, not just when the hello was made.
public enum CarrierSessionProof {
    public static let method = "carrier.session"

    public static func make(
        did: DID, key: ElaPrivateKey, challenge: String, toxUserID: String, deviceUserID: String, now: Int64
    ) throws -> String {
        try SignedRequest.sign(
            method: method,
            params: ["challenge": .string(challenge), "toxKey": .string(toxUserID), "device": .string(deviceUserID)],
            privateKey: key, did: did, now: now
        ).text
    }

    /// Nil when the proof is good for `did` on this link, else why not.
    public static func check(
        _ text: String, did: DID, challenge: String, toxUserID: String, deviceUserID: String, now: Int64, windowSeconds: Int64
    ) -> String? {
        let r: SignedRequest
        do { r = try SignedRequest(text: text) } catch { return "malformed session proof: \(error)" }
        guard r.method == method else { return "session proof method is \(r.method), not \(method)" }
        guard r.did == did else { return "session proof is for \(r.did), the hello was from \(did)" }
        guard r.isKeyBoundToDID else { return "session proof key is not the key of \(r.did)" }
        guard r.isSignatureValid else { return "bad signature on the session proof" }
        guard r.params["challenge"]?.stringValue == challenge else { return "session proof answers another challenge" }
        guard r.params["toxKey"]?.stringValue == toxUserID else { return "session proof names another Tox key" }
        guard r.params["device"]?.stringValue == deviceUserID else { return "session proof names another device" }
        guard abs(now - r.timestamp) <= windowSeconds else { return "session proof timestamp outside the \(windowSeconds) s window" }
        return nil
    }
}

public struct CarrierProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

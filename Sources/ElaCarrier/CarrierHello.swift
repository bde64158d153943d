import ElaGate
public import ElaIdentity
public import ElaCrypto
import ElaJSON

/// The hello a DApp puts in its Tox friend request: a signed request (`SignedRequest`, the envelope every remote
/// call uses) with method `carrier.hello` whose params bind the DApp's DID to its Tox key and name the device:
/// `{"toxKey": <user id of the sender>, "device": <user id of the device>}`. It must fit Tox's 1016-byte request.
/// A DApp whose access comes from an owner-issued credential rather than a grant adds `"credential": <its id>`: the
/// credential itself does not fit, so it comes with the session proof, and the device admits such a DApp only if it
/// has an owner.
public enum CarrierHello {
    public static let method = "carrier.hello"
    public static let maxBytes = 1016

    public static func make(
        did: DID, key: ElaPrivateKey, toxUserID: String, deviceUserID: String, credentialID: String? = nil, now: Int64,
        nonce: String? = nil
    ) throws -> [UInt8] {
        var params: JSONObject = ["toxKey": .string(toxUserID), "device": .string(deviceUserID)]
        if let credentialID { params["credential"] = .string(credentialID) }
        let request = try SignedRequest.sign(method: method, params: params, privateKey: key, did: did, now: now, nonce: nonce)
        let bytes = Array(request.text.utf8)
        guard bytes.count <= maxBytes else { throw CarrierProtocolError("hello is \(bytes.count) bytes; Tox allows \(maxBytes)") }
        return bytes
    }
}

/// The answer to a device's challenge: a signed request `carrier.session` with params
/// `{"challenge": <hex the device sent>, "toxKey": <our user id>, "device": <device user id>}` and, when the device
/// offered a session key, `"sessionKey": <our X25519 public key, hex>` and `"deviceKey": <the device's, as received>`.
/// Signing a fresh random challenge proves the DID key is behind this very Tox link now, not just when the hello was
/// made; signing both session keys binds the MAC key of the session's calls (``SessionSeal``) to the DID, and a device
/// key swapped on the way (by a carrier in the middle) shows at once instead of as bad tags later.
public enum CarrierSessionProof {
    public static let method = "carrier.session"

    /// `credential`: an owner-issued `DeviceAccessCredential` the session's calls may rely on (signed with the proof).
    public static func make(
        did: DID, key: ElaPrivateKey, challenge: String, toxUserID: String, deviceUserID: String,
        sessionKeys: (own: [UInt8], device: [UInt8])? = nil, credential: VerifiableCredential? = nil, now: Int64
    ) throws -> String {
        var params: JSONObject = ["challenge": .string(challenge), "toxKey": .string(toxUserID), "device": .string(deviceUserID)]
        if let sessionKeys {
            params["sessionKey"] = .string(Hex.encode(sessionKeys.own))
            params["deviceKey"] = .string(Hex.encode(sessionKeys.device))
        }
        return try SignedRequest.sign(method: method, params: params, privateKey: key, did: did, credential: credential, now: now).text
    }

    /// What a good proof gives the session.
    public struct Verified: Sendable {
        /// The DApp's session public key (nil when it offered none).
        public var sessionKey: [UInt8]?
        /// The credential it presented, not yet checked (the gate does that, against the owner).
        public var credential: VerifiableCredential?
    }

    /// The DApp's session key and credential when the proof is good for `did` on this link and, if it offers a key,
    /// names `deviceKey` (ours) as the device's.
    public static func verify(
        _ text: String, did: DID, challenge: String, toxUserID: String, deviceUserID: String, deviceKey: [UInt8]? = nil, now: Int64,
        windowSeconds: Int64
    ) -> Result<Verified, CarrierProtocolError> {
        func fail(_ why: String) -> Result<Verified, CarrierProtocolError> { .failure(CarrierProtocolError(why)) }
        let r: SignedRequest
        do { r = try SignedRequest(text: text) } catch { return fail("malformed session proof: \(error)") }
        guard r.method == method else { return fail("session proof method is \(r.method), not \(method)") }
        guard r.did == did else { return fail("session proof is for \(r.did), the hello was from \(did)") }
        guard r.isKeyBoundToDID else { return fail("session proof key is not the key of \(r.did)") }
        guard r.isSignatureValid else { return fail("bad signature on the session proof") }
        guard r.params["challenge"]?.stringValue == challenge else { return fail("session proof answers another challenge") }
        guard r.params["toxKey"]?.stringValue == toxUserID else { return fail("session proof names another Tox key") }
        guard r.params["device"]?.stringValue == deviceUserID else { return fail("session proof names another device") }
        guard abs(now - r.timestamp) <= windowSeconds else { return fail("session proof timestamp outside the \(windowSeconds) s window") }
        guard let offered = r.params["sessionKey"] else { return .success(Verified(sessionKey: nil, credential: r.credential)) }
        guard let hex = offered.stringValue, let key = try? Hex.decode(hex), key.count == 32 else {
            return fail("session proof sessionKey must be 64 hex digits (an X25519 public key)")
        }
        guard let deviceKey, r.params["deviceKey"]?.stringValue == Hex.encode(deviceKey) else {
            return fail("session proof names another device session key than this device sent")
        }
        return .success(Verified(sessionKey: key, credential: r.credential))
    }

    /// Nil when the proof is good for `did` on this link, else why not.
    public static func check(
        _ text: String, did: DID, challenge: String, toxUserID: String, deviceUserID: String, now: Int64, windowSeconds: Int64
    ) -> String? {
        if case .failure(let e) = verify(
            text, did: did, challenge: challenge, toxUserID: toxUserID, deviceUserID: deviceUserID, now: now, windowSeconds: windowSeconds)
        {
            return e.message
        }
        return nil
    }
}

public struct CarrierProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

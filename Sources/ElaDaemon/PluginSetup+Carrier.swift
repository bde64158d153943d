import ElaCarrier
import ElaConfig
import ElaDeviceIdentity
import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaKeystore
import ElaSodium

/// The device's Tox identity: secret key and nospam (so the carrier address survives restarts), kept in the
/// agent's encrypted keystore and handed to ela-carrier in its hello (it has no state directory of its own).
struct CarrierIdentity: Sendable {
    static let keyName = DeviceIdentityService.carrierKeyName
    let secretKey: [UInt8]
    let nospam: UInt32

    /// The address ela-carrier will announce (Tox public key = X25519 of the secret), known before it starts.
    func address() throws -> CarrierAddress {
        try CarrierAddress(publicKey: try Curve25519.publicKey(secretKey: secretKey), nospam: nospam)
    }

    /// The device DID document's entry naming the carrier address, as the Elastos SDKs write it.
    func service(for did: DID) throws -> DIDService {
        DIDService(id: DIDURL(did: did, fragment: "carrier"), type: "CarrierAddress", endpoint: "carrier://\(try address())")
    }

    /// The stored Tox identity, or a new one derived from the device key (so an identity restored from its recovery
    /// words gets the same carrier address back, and DApps find the device where they paired with it). Devices set
    /// up before derivation keep their stored random one.
    static func loadOrCreate(keystore: Keystore, protection: KeyProtection, deviceKey: ElaPrivateKey) throws -> CarrierIdentity {
        if keystore.exists(name: keyName) {
            let secret = try keystore.load(name: keyName, protection: protection)
            let bytes = secret.withUnsafeBytes { Array($0) }
            guard bytes.count == 36 else { throw KeystoreCarrierError(message: "keystore entry \(keyName) has \(bytes.count) bytes, not 36") }
            return CarrierIdentity(keystoreEntry: bytes)
        }
        var fresh = deviceKey.derivedSecret(purpose: "carrier-tox", count: 36)
        defer { for i in fresh.indices { fresh[i] = 0 } }
        try keystore.store(SecretBytes(fresh), name: keyName, protection: protection)
        return CarrierIdentity(keystoreEntry: fresh)
    }
}

extension CarrierIdentity {
    /// From the keystore entry's 36 bytes: the secret key, then the nospam (big-endian).
    init(keystoreEntry bytes: [UInt8]) {
        self.init(secretKey: Array(bytes.prefix(32)), nospam: bytes[32...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }
}

struct KeystoreCarrierError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension PluginSetup {
    /// ela-carrier's hello config from `[carrier]` and the device's Tox identity.
    static func carrierConfig(_ settings: CarrierSettings, identity: CarrierIdentity?) -> JSONObject {
        func nodes(_ list: [CarrierSettings.Node]) -> JSONValue {
            .array(list.map { .object(["host": .string($0.host), "port": .number(JSONNumber($0.port)), "key": .string($0.publicKey)]) })
        }
        var o: JSONObject = [
            "udp": .bool(settings.udp), "lan": .bool(settings.lanDiscovery), "window": .number(JSONNumber(settings.window)),
            "udpWindow": .number(JSONNumber(settings.udpWindow)),
            "bootstrap": nodes(settings.bootstrap), "relays": nodes(settings.relays),
        ]
        if let identity {
            o["secretKey"] = .string(Hex.encode(identity.secretKey))
            o["nospam"] = .number(JSONNumber(Int64(identity.nospam)))
        }
        return o
    }
}

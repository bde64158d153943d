public import ElaCrypto
public import ElaIdentity
internal import ElaJSON
public import ElaKeystore
internal import ElaSodium
public import ElaStorage

/// The device's own identity: its key (in the encrypted keystore) and its signed DID document (in the database).
public struct DeviceIdentity: Sendable {
    public var key: ElaPrivateKey
    public var document: DIDDocument
    public var did: DID { document.subject }
    public var createdAt: Int64
}

/// Why the identity could not be loaded; never answered by silently making a new one.
public struct IdentityStartupError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// First start: a BIP39 mnemonic, the key at m/44'/0'/0'/0/0 (so `elactl did restore` can recover it), a signed
/// document. Later starts: load and cross-check key, DID and document; renew the document when it nears expiry.
public struct DeviceIdentityService: Sendable {
    static let keyName = "device-key"
    static let mnemonicName = "device-mnemonic"
    /// Documents are re-signed with a fresh expiry this long before they expire.
    static let renewBeforeSeconds: Int64 = 30 * 86400

    public var keystore: Keystore
    public var protection: KeyProtection
    public var store: AgentStore
    public var validityYears: Int

    public init(keystore: Keystore, protection: KeyProtection, store: AgentStore, validityYears: Int) {
        self.keystore = keystore
        self.protection = protection
        self.store = store
        self.validityYears = validityYears
    }

    public enum Outcome: Sendable, Equatable { case created, loaded, renewed }

    public func loadOrCreate(now: DIDDate) throws -> (DeviceIdentity, Outcome) {
        let record = try store.deviceIdentity()
        guard keystore.exists(name: Self.keyName) else {
            if let record {
                throw IdentityStartupError(
                    message: "the database names device \(record.did) but the keystore in \(keystore.directory) has no key for it; "
                        + "restore the keystore (or the identity from its mnemonic) instead of starting a new identity")
            }
            return (try create(now: now), .created)
        }
        let key = try loadKey()
        let did = try DID(methodSpecificId: ElaAddress.identifier(for: key.publicKey))
        if let record, record.did != did.description {
            throw IdentityStartupError(
                message: "the keystore key belongs to \(did) but the database names \(record.did); refusing to guess which is right")
        }
        if let record, let document = try? DIDDocument(json: try JSONParser.parse(record.document)),
            document.subject == did, document.defaultKey?.publicKeyBase58 == key.publicKey.base58, document.isGenuine()
        {
            if now.secondsSince1970 + Self.renewBeforeSeconds < document.expires.secondsSince1970 {
                return (DeviceIdentity(key: key, document: document, createdAt: record.createdAt), .loaded)
            }
            let renewed = try makeDocument(key: key, services: document.services, now: now)
            try store.saveDeviceIdentity(did: did.description, document: renewed.normalizedString, now: now.secondsSince1970)
            return (DeviceIdentity(key: key, document: renewed, createdAt: record.createdAt), .renewed)
        }
        // Key present, document missing or unusable: the DID is the key's, so sign a fresh document for it.
        let document = try makeDocument(key: key, services: [], now: now)
        try store.saveDeviceIdentity(did: did.description, document: document.normalizedString, now: now.secondsSince1970)
        return (DeviceIdentity(key: key, document: document, createdAt: record?.createdAt ?? now.secondsSince1970), .renewed)
    }

    func create(now: DIDDate) throws -> DeviceIdentity {
        let mnemonic = Mnemonic.generate(wordCount: 12)
        let key = try HDKey.identityKey(mnemonic: mnemonic, passphrase: "", index: 0).privateKey
        // Mnemonic first: if we die between the two writes, the next start still finds no key and starts over cleanly.
        try keystore.store(SecretBytes(utf8: mnemonic.phrase), name: Self.mnemonicName, protection: protection)
        try key.withRawBytes { raw in try keystore.store(SecretBytes(raw), name: Self.keyName, protection: protection) }
        let document = try makeDocument(key: key, services: [], now: now)
        try store.saveDeviceIdentity(
            did: document.subject.description, document: document.normalizedString, now: now.secondsSince1970)
        return DeviceIdentity(key: key, document: document, createdAt: now.secondsSince1970)
    }

    func loadKey() throws -> ElaPrivateKey {
        let secret = try keystore.load(name: Self.keyName, protection: protection)
        return try secret.withUnsafeBytes { raw in try ElaPrivateKey(rawRepresentation: Array(raw)) }
    }

    /// The backup words of the device identity (index 0).
    public func mnemonicPhrase() throws -> String {
        let secret = try keystore.load(name: Self.mnemonicName, protection: protection)
        return secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    func makeDocument(key: ElaPrivateKey, services: [DIDService], now: DIDDate) throws -> DIDDocument {
        try DIDDocument.primitive(for: key.publicKey, services: services, now: now, validYears: validityYears)
            .signed(with: key, created: now)
    }
}

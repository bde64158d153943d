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

/// What is needed to re-create the device key elsewhere: BIP39 words, their passphrase and the identity index.
public struct IdentityBackup: Sendable, Equatable {
    public var mnemonic: String
    public var passphrase: String
    public var index: UInt32

    public init(mnemonic: String, passphrase: String = "", index: UInt32 = 0) {
        self.mnemonic = mnemonic
        self.passphrase = passphrase
        self.index = index
    }
}

/// Why the identity could not be loaded, created or restored; never answered by silently making a new one.
public struct DeviceIdentityError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// First start: a BIP39 mnemonic, the key at m/44'/0'/0'/0/0 (so it can be restored with any Elastos wallet or
/// `elactl identity restore`), a signed document. Later starts: load and cross-check key, DID and document; renew
/// the document when it nears expiry.
public struct DeviceIdentityService: Sendable {
    static let keyName = "device-key"
    static let backupName = "device-mnemonic"
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
                throw DeviceIdentityError(
                    "the database names device \(record.did) but the keystore in \(keystore.directory) has no key for it; "
                        + "restore it with `elactl identity restore` (or the keystore from a backup) instead of starting a new identity")
            }
            let backup = IdentityBackup(mnemonic: Mnemonic.generate(wordCount: 12).phrase)
            return (try install(backup, now: now), .created)
        }
        let key = try loadKey()
        let did = try DID(methodSpecificId: ElaAddress.identifier(for: key.publicKey))
        if let record, record.did != did.description {
            throw DeviceIdentityError(
                "the keystore key belongs to \(did) but the database names \(record.did); refusing to guess which is right")
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

    /// The identity whose document lists `service` (e.g. the `CarrierAddress` entry naming the device's carrier
    /// address). A service with the same id is replaced; the document is re-signed and saved only when it changes,
    /// so restarts do not churn it. Publishing the new document on the ID chain stays the admin's step.
    public func withService(_ service: DIDService, in identity: DeviceIdentity, now: DIDDate) throws -> DeviceIdentity {
        if identity.document.services.contains(service) { return identity }
        let services = identity.document.services.filter { $0.id != service.id } + [service]
        let document = try makeDocument(key: identity.key, services: services, now: now)
        try store.saveDeviceIdentity(did: document.subject.description, document: document.normalizedString, now: now.secondsSince1970)
        return DeviceIdentity(key: identity.key, document: document, createdAt: identity.createdAt)
    }

    /// The backup of the current identity.
    public func backup() throws -> IdentityBackup {
        let secret = try keystore.load(name: Self.backupName, protection: protection)
        let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        guard let o = try? JSONParser.parse(text).objectValue, let words = o["mnemonic"]?.stringValue else {
            throw DeviceIdentityError("the identity backup in \(keystore.directory) is unreadable")
        }
        let index = o["index"]?.numberValue?.int64Value.flatMap { UInt32(exactly: $0) } ?? 0
        return IdentityBackup(mnemonic: words, passphrase: o["passphrase"]?.stringValue ?? "", index: index)
    }

    /// Replaces the device identity with the one derived from `backup`. Refuses to replace a different existing
    /// identity unless `replacing` is true.
    public func restore(_ backup: IdentityBackup, now: DIDDate, replacing: Bool) throws -> DeviceIdentity {
        let words: Mnemonic
        do { words = try Mnemonic(phrase: backup.mnemonic) } catch { throw DeviceIdentityError("mnemonic: \(error)") }
        let restored = ElaAddress.did(for: try HDKey.identityKey(mnemonic: words, passphrase: backup.passphrase, index: backup.index).publicKey)
        var existing = try store.deviceIdentity()?.did
        if existing == nil, keystore.exists(name: Self.keyName), let key = try? loadKey() {
            existing = ElaAddress.did(for: key.publicKey)
        }
        if let existing, existing != restored, !replacing {
            throw DeviceIdentityError(
                "this device already has identity \(existing); restoring would replace it with \(restored) (use --force)")
        }
        // Keys derived from the identity being replaced (the carrier's) would outlive it: the restored identity
        // derives its own at the next start.
        if let existing, existing != restored {
            do { _ = try keystore.remove(name: Self.carrierKeyName) } catch { throw DeviceIdentityError("cannot remove the old carrier key: \(error)") }
        }
        return try install(IdentityBackup(mnemonic: words.phrase, passphrase: backup.passphrase, index: backup.index), now: now)
    }

    /// Writes backup, key and a freshly signed document.
    func install(_ backup: IdentityBackup, now: DIDDate) throws -> DeviceIdentity {
        let words: Mnemonic
        do { words = try Mnemonic(phrase: backup.mnemonic) } catch { throw DeviceIdentityError("mnemonic: \(error)") }
        let key = try HDKey.identityKey(mnemonic: words, passphrase: backup.passphrase, index: backup.index).privateKey
        let record = JSONObject([
            ("mnemonic", .string(words.phrase)), ("passphrase", .string(backup.passphrase)),
            ("index", .number(JSONNumber(Int64(backup.index)))),
        ])
        // Backup first: if we die between the two writes, the next start finds no key and starts over cleanly.
        try keystore.store(SecretBytes(JSONWriter.compactBytes(.object(record))), name: Self.backupName, protection: protection)
        try key.withRawBytes { raw in try keystore.store(SecretBytes(raw), name: Self.keyName, protection: protection) }
        let document = try makeDocument(key: key, services: [], now: now)
        try store.saveDeviceIdentity(
            did: document.subject.description, document: document.normalizedString, now: now.secondsSince1970)
        return DeviceIdentity(key: key, document: document, createdAt: now.secondsSince1970)
    }

    /// The carrier's Tox key in the keystore: derived from the device key (so it comes back with a restore).
    public static let carrierKeyName = "carrier-tox"

    func loadKey() throws -> ElaPrivateKey {
        let secret = try keystore.load(name: Self.keyName, protection: protection)
        return try secret.withUnsafeBytes { raw in try ElaPrivateKey(rawRepresentation: Array(raw)) }
    }

    func makeDocument(key: ElaPrivateKey, services: [DIDService], now: DIDDate) throws -> DIDDocument {
        try DIDDocument.primitive(for: key.publicKey, services: services, now: now, validYears: validityYears)
            .signed(with: key, created: now)
    }
}

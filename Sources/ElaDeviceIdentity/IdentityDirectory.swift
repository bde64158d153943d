#if canImport(Glibc)
import Glibc
#endif
public import ElaCrypto
public import ElaIdentity
import ElaFileSystem
import ElaJSON
import ElaKeystore
import ElaSodium

/// A caller identity kept in a folder (`elactl identity create --dir D`, a DApp's key): the key and its BIP39 words
/// in an encrypted keystore unlocked by a 0600 secret file in the same folder, and the signed DID document in
/// `document.json`. Used with `elactl call --as D`.
public struct IdentityDirectory: Sendable {
    public let path: String
    public let key: ElaPrivateKey
    public let document: DIDDocument
    public var did: DID { document.subject }

    static let keyName = "identity-key"
    static let mnemonicName = "identity-mnemonic"

    static func protection(_ path: String) -> KeyProtection { .machineSecret(path: path + "/secret.key") }

    /// Creates a new identity (fresh BIP39 words, key `m/44'/0'/0'/0/0`) in an empty or missing folder.
    /// Returns it with the words, which the caller shows once.
    public static func create(at path: String, now: DIDDate) throws(DeviceIdentityError) -> (IdentityDirectory, mnemonic: String) {
        if FileSystem.exists(path + "/document.json") {
            throw DeviceIdentityError("\(path) already holds an identity (document.json); refusing to overwrite it")
        }
        do {
            try FileSystem.makeDirectory(path, mode: 0o700)
            let words = Mnemonic.generate()
            let key = try HDKey.identityKey(mnemonic: words, passphrase: "", index: 0).privateKey
            let keystore = try Keystore(directory: path + "/keystore")
            try keystore.store(SecretBytes(Array(words.phrase.utf8)), name: mnemonicName, protection: protection(path))
            try key.withRawBytes { raw in try keystore.store(SecretBytes(raw), name: keyName, protection: protection(path)) }
            let document = try DIDDocument.primitive(for: key.publicKey, services: [], now: now, validYears: 5).signed(with: key, created: now)
            try FileSystem.writeAtomically(path + "/document.json", Array(document.normalizedString.utf8), mode: 0o644)
            return (IdentityDirectory(path: path, key: key, document: document), words.phrase)
        } catch let e as DeviceIdentityError {
            throw e
        } catch {
            throw DeviceIdentityError("cannot create an identity in \(path): \(error)")
        }
    }

    /// Loads an identity folder and checks that key and document belong together.
    public static func load(_ path: String) throws(DeviceIdentityError) -> IdentityDirectory {
        do {
            let text = try FileSystem.readText(path + "/document.json")
            let document = try DIDDocument(json: try JSONParser.parse(text))
            let keystore = try Keystore(directory: path + "/keystore")
            let secret = try keystore.load(name: keyName, protection: protection(path))
            let key = try secret.withUnsafeBytes { raw in try ElaPrivateKey(rawRepresentation: Array(raw)) }
            guard ElaAddress.did(for: key.publicKey) == document.subject.description else {
                throw DeviceIdentityError("\(path): the key does not belong to \(document.subject)")
            }
            return IdentityDirectory(path: path, key: key, document: document)
        } catch let e as DeviceIdentityError {
            throw e
        } catch {
            throw DeviceIdentityError("cannot load the identity in \(path): \(error)")
        }
    }
}

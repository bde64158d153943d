import ElaCrypto
import ElaDaemon
import ElaIdentity
import ElaKeystore
import ElaSodium
import ElaStorage
import ElaTestSupport
import Testing

@Suite struct DeviceIdentityServiceTests {
    struct Fixture {
        let dir = TemporaryDirectory()
        var protection: KeyProtection { .machineSecret(path: dir.path + "/machine.key") }

        func service(years: Int = 5) throws -> DeviceIdentityService {
            DeviceIdentityService(
                keystore: try Keystore(directory: dir.path + "/keystore"), protection: protection,
                store: try AgentStore(path: dir.path + "/agent.db"), validityYears: years)
        }
    }

    let t0 = try! DIDDate("2026-01-01T00:00:00Z")

    @Test func createsThenLoadsTheSameIdentity() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let (created, o1) = try f.service().loadOrCreate(now: t0)
        #expect(o1 == .created)
        #expect(created.document.isGenuine())
        #expect(created.document.expires == (try DIDDate("2031-01-01T00:00:00Z")))
        let (loaded, o2) = try f.service().loadOrCreate(now: t0.adding(seconds: 86400))
        #expect(o2 == .loaded)
        #expect(loaded.did == created.did)
        #expect(loaded.document == created.document)
    }

    @Test func theBackupMnemonicRestoresTheDID() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let service = try f.service()
        let (identity, _) = try service.loadOrCreate(now: t0)
        let words = try Mnemonic(phrase: try service.mnemonicPhrase())
        let restored = try HDKey.identityKey(mnemonic: words, passphrase: "", index: 0)
        #expect(ElaAddress.did(for: restored.publicKey) == identity.did.description)
    }

    @Test func aDocumentNearExpiryIsRenewedWithTheSameDID() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let (first, _) = try f.service(years: 1).loadOrCreate(now: t0)
        let later = first.document.expires.adding(seconds: -86400)
        let (renewed, outcome) = try f.service(years: 1).loadOrCreate(now: later)
        #expect(outcome == .renewed)
        #expect(renewed.did == first.did)
        #expect(renewed.document.expires > first.document.expires)
        #expect(renewed.document.isValid(at: later))
    }

    @Test func aLostKeyIsNeverReplacedSilently() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let (identity, _) = try f.service().loadOrCreate(now: t0)
        _ = try Keystore(directory: f.dir.path + "/keystore").remove(name: "device-key")
        do {
            _ = try f.service().loadOrCreate(now: t0)
            Issue.record("a new identity was created")
        } catch let e as IdentityStartupError {
            #expect(e.message.contains(identity.did.description))
        }
    }

    @Test func aWrongPassphraseIsAnErrorNotANewIdentity() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        func service(_ pass: String) throws -> DeviceIdentityService {
            DeviceIdentityService(
                keystore: try Keystore(directory: dir.path + "/keystore"),
                protection: .passphrase(SecretBytes(utf8: pass), .testing),
                store: try AgentStore(path: dir.path + "/agent.db"), validityYears: 5)
        }
        let (identity, _) = try service("correct horse").loadOrCreate(now: t0)
        #expect(throws: KeystoreError.self) { try service("wrong horse").loadOrCreate(now: t0) }
        #expect(try service("correct horse").loadOrCreate(now: t0).0.did == identity.did)
    }
}

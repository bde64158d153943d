import ElaCrypto
import ElaDeviceIdentity
import ElaIdentity
import ElaKeystore
import ElaSodium
import ElaStorage
import ElaTestSupport
import Testing

@Suite(.ownThread) struct DeviceIdentityServiceTests {
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

    /// The carrier's `CarrierAddress` entry: added once (re-signed, saved, still genuine), kept across loads, replaced
    /// when the address changes, and never re-signed when nothing changed.
    @Test func aServiceEntryIsAddedOnceAndReplacedById() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let service = try f.service()
        let (identity, _) = try service.loadOrCreate(now: t0)
        let entry = DIDService(
            id: DIDURL(did: identity.did, fragment: "carrier"), type: "CarrierAddress",
            endpoint: "carrier://X2tDd1ZTErwnHNot8pTdhp7C7Y9FxMPGD8ppiasUT4UsHH2BpF1d")
        let with = try service.withService(entry, in: identity, now: t0.adding(seconds: 60))
        #expect(with.document.services == [entry] && with.document.isGenuine() && with.did == identity.did)
        #expect(try service.withService(entry, in: with, now: t0.adding(seconds: 120)).document == with.document, "unchanged: not re-signed")
        let (loaded, outcome) = try service.loadOrCreate(now: t0.adding(seconds: 180))
        #expect(outcome == .loaded && loaded.document == with.document)
        var moved = entry
        moved.endpoint = "carrier://other"
        let replaced = try service.withService(moved, in: loaded, now: t0.adding(seconds: 240))
        #expect(replaced.document.services == [moved] && replaced.document.isGenuine())
    }

    @Test func theBackupMnemonicRestoresTheDID() throws {
        let f = Fixture()
        defer { f.dir.remove() }
        let service = try f.service()
        let (identity, _) = try service.loadOrCreate(now: t0)
        let backup = try service.backup()
        let words = try Mnemonic(phrase: backup.mnemonic)
        let restored = try HDKey.identityKey(mnemonic: words, passphrase: backup.passphrase, index: backup.index)
        #expect(ElaAddress.did(for: restored.publicKey) == identity.did.description)
        // Restoring it on another device gives the same DID.
        let other = Fixture()
        defer { other.dir.remove() }
        #expect(try other.service().restore(backup, now: t0, replacing: false).did == identity.did)
        #expect(try other.service().loadOrCreate(now: t0).1 == .loaded)
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
        } catch let e as DeviceIdentityError {
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

@Suite(.ownThread) struct RestoreTests {
    let t0 = try! DIDDate("2026-01-01T00:00:00Z")

    @Test func restoreDerivesTheSDKIdentitiesAndGuardsAnExistingOne() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let words = try #require(TestData.readString(TestData.path("elastos-did/native-sdk/testdata/mnemonic.restore")))
        let dids = try #require(TestData.readString(TestData.path("elastos-did/native-sdk/testdata/dids.restore")))
            .split(separator: "\n").map(String.init)
        let service = DeviceIdentityService(
            keystore: try Keystore(directory: dir.path + "/keystore"), protection: .machineSecret(path: dir.path + "/m.key"),
            store: try AgentStore(path: dir.path + "/agent.db"), validityYears: 5)
        let first = try service.restore(IdentityBackup(mnemonic: words, passphrase: "secret", index: 0), now: t0, replacing: false)
        #expect(first.did.description == dids[0])
        #expect(first.document.isGenuine())
        // Another identity over it needs `replacing`.
        #expect(throws: DeviceIdentityError.self) {
            try service.restore(IdentityBackup(mnemonic: words, passphrase: "secret", index: 1), now: t0, replacing: false)
        }
        let second = try service.restore(IdentityBackup(mnemonic: words, passphrase: "secret", index: 1), now: t0, replacing: true)
        #expect(second.did.description == dids[1])
        #expect(try service.loadOrCreate(now: t0).0.did == second.did)
        #expect(try service.backup() == IdentityBackup(mnemonic: words, passphrase: "secret", index: 1))
        // Nonsense words are refused without touching the identity.
        #expect(throws: DeviceIdentityError.self) {
            try service.restore(IdentityBackup(mnemonic: "not a mnemonic"), now: t0, replacing: true)
        }
        #expect(try service.loadOrCreate(now: t0).0.did == second.did)
    }
}

import ElaKeystore
import ElaSodium
import ElaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Keystore round trips", .ownThread)
struct KeystoreRoundTripTests {
    @Test func passphraseRoundTrip() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let secret = Sodium.randomSecret(32)

        try keystore.store(secret, name: "device-key", protection: TestProtection.passphrase())
        #expect(try keystore.load(name: "device-key", protection: TestProtection.passphrase()) == secret)
        // Load uses the parameters recorded in the file, not the ones passed in.
        let otherParameters = KeyProtection.passphrase(SecretBytes(utf8: "correct horse battery staple"), .moderate)
        #expect(try keystore.load(name: "device-key", protection: otherParameters) == secret)
    }

    @Test func machineSecretRoundTrip() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let machine = KeyProtection.machineSecret(path: temporary.child("machine-secret"))
        let secret = SecretBytes(Array("abandon abandon ability".utf8))

        try keystore.store(secret, name: "mnemonic", protection: machine)
        #expect(fileExists(temporary.child("machine-secret")))
        #expect(fileMode(temporary.child("machine-secret")) == 0o600)
        #expect(readFile(temporary.child("machine-secret")).count == 32)
        #expect(try keystore.load(name: "mnemonic", protection: machine) == secret)

        // A second store reuses the existing machine secret.
        let before = readFile(temporary.child("machine-secret"))
        try keystore.store(Sodium.randomSecret(8), name: "other", protection: machine)
        #expect(readFile(temporary.child("machine-secret")) == before)
        #expect(try keystore.load(name: "mnemonic", protection: machine) == secret)
    }

    @Test func filesAre0600AndTheDirectory0700() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.child("keystore")
        let keystore = try Keystore(directory: directory)
        try keystore.store(SecretBytes([1, 2, 3]), name: "k", protection: TestProtection.passphrase())
        #expect(fileMode(directory) == 0o700)
        #expect(fileMode(directory + "/k") == 0o600)

        // An existing directory open to others is tightened.
        let loose = temporary.child("loose")
        _ = try Keystore(directory: loose)
        #expect(chmod(loose, 0o755) == 0)
        _ = try Keystore(directory: loose)
        #expect(fileMode(loose) == 0o700)
    }

    @Test func storeReplacesNamesExistsAndRemove() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let protection = TestProtection.passphrase()

        #expect(try keystore.names().isEmpty)
        #expect(!keystore.exists(name: "b"))
        try keystore.store(SecretBytes([1]), name: "b", protection: protection)
        try keystore.store(SecretBytes([2]), name: "a.key_1-x", protection: protection)
        try keystore.store(SecretBytes([3]), name: "b", protection: protection)
        #expect(try keystore.names() == ["a.key_1-x", "b"])
        #expect(keystore.exists(name: "b"))
        #expect(try keystore.load(name: "b", protection: protection) == SecretBytes([3]))

        #expect(try keystore.remove(name: "b"))
        #expect(try !keystore.remove(name: "b"))
        #expect(!keystore.exists(name: "b"))
        #expect(try keystore.names() == ["a.key_1-x"])
    }

    @Test func emptySecretRoundTrips() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        try keystore.store(SecretBytes([]), name: "empty", protection: TestProtection.passphrase())
        #expect(try keystore.load(name: "empty", protection: TestProtection.passphrase()).isEmpty)
    }

    @Test func concurrentStoresAndFirstMachineSecretCreationAgree() async throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let machine = KeyProtection.machineSecret(path: temporary.child("machine-secret"))
        let names = (0..<8).map { "key-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, name) in names.enumerated() {
                group.addTask { try keystore.store(SecretBytes([UInt8(index)]), name: name, protection: machine) }
                group.addTask { try keystore.store(SecretBytes([0xff]), name: "shared", protection: machine) }
            }
            try await group.waitForAll()
        }
        // Every entry decrypts with the one machine secret that won the creation race.
        for (index, name) in names.enumerated() {
            #expect(try keystore.load(name: name, protection: machine) == SecretBytes([UInt8(index)]))
        }
        #expect(try keystore.load(name: "shared", protection: machine) == SecretBytes([0xff]))
        #expect(listDirectory(temporary.path) == ["keystore", "machine-secret"])
        #expect(listDirectory(temporary.child("keystore")) == [".lock"] + names + ["shared"])
    }
}

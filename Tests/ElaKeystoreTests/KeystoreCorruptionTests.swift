import ElaKeystore
import ElaSodium
import ElaTestSupport
import Testing

/// Damaged, foreign and mismatched files: each must give its own error and never a crash.
@Suite("Keystore corruption", .ownThread)
struct KeystoreCorruptionTests {
    /// Header sizes from the documented format (see KeystoreFormat.swift).
    static let passphraseHeaderLength = 67
    static let machineHeaderLength = 51

    /// A keystore holding one 4-byte secret "k" under `protection`; returns the file path.
    private func makeEntry(
        _ temporary: TemporaryDirectory, protection: KeyProtection
    ) throws -> (Keystore, String) {
        let keystore = try Keystore(directory: temporary.child("keystore"))
        try keystore.store(SecretBytes([0xde, 0xad, 0xbe, 0xef]), name: "k", protection: protection)
        return (keystore, try keystore.path(for: "k"))
    }

    @Test func wrongPassphrase() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (keystore, path) = try makeEntry(temporary, protection: TestProtection.passphrase("right"))
        let error = keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase("wrong")) }
        #expect(error == .wrongPassphraseOrCorrupt(path: path))
        #expect(error?.description.contains(path) == true)
        #expect(error?.description.contains("wrong passphrase, or the file was modified") == true)
    }

    @Test func layoutMatchesTheDocumentedFormat() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (_, path) = try makeEntry(temporary, protection: TestProtection.passphrase())
        let file = readFile(path)
        #expect(file.count == Self.passphraseHeaderLength + 4 + 16)
        #expect(Array(file[0..<5]) == Array("ELAKS".utf8))
        #expect(file[5] == 1)  // version
        #expect(file[6] == 1)  // passphrase
        #expect(Array(file[7..<11]) == [0, 0, 0, 20])  // ciphertext length incl. tag
        #expect(Array(file[11..<19]) == [0, 0, 0, 0, 0, 0, 0, 1])  // opslimit
        #expect(Array(file[19..<27]) == [0, 0, 0, 0, 0, 0, 0x20, 0])  // memlimit 8192
    }

    @Test(arguments: [0, 1, 4, 5, 6, 7, 10, 11, 30, 66, 67, 70, 86])
    func truncatedPassphraseFile(length: Int) throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (keystore, path) = try makeEntry(temporary, protection: TestProtection.passphrase())
        let file = readFile(path)
        #expect(file.count == 87)
        writeFile(path, Array(file.prefix(length)))

        let error = keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
        guard case .truncated(let errorPath, let expected, let got) = error else {
            Issue.record("cut at \(length): expected .truncated, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(got == length)
        #expect(expected > length)
        #expect(error?.description.contains("truncated") == true)
    }

    @Test(arguments: [0, 6, 11, 50, 51, 60, 70])
    func truncatedMachineSecretFile(length: Int) throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let machine = KeyProtection.machineSecret(path: temporary.child("machine-secret"))
        let (keystore, path) = try makeEntry(temporary, protection: machine)
        writeFile(path, Array(readFile(path).prefix(length)))
        let error = keystoreError { _ = try keystore.load(name: "k", protection: machine) }
        guard case .truncated(_, _, let got) = error else {
            Issue.record("cut at \(length): expected .truncated, got \(String(describing: error))")
            return
        }
        #expect(got == length)
    }

    @Test(arguments: [UInt8(0x01), 0x80, 0xff])
    func everySingleByteFlipIsRejected(mask: UInt8) throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let protections: [KeyProtection] = [
            TestProtection.passphrase(), .machineSecret(path: temporary.child("machine-secret")),
        ]
        for protection in protections {
            let (keystore, path) = try makeEntry(temporary, protection: protection)
            let good = readFile(path)
            for index in good.indices {
                var bad = good
                bad[index] ^= mask
                writeFile(path, bad)
                let error = keystoreError { _ = try keystore.load(name: "k", protection: protection) }
                #expect(isFormatOrAuthenticationError(error), "byte \(index) ^ \(mask): \(String(describing: error))")
            }
            // Trailing garbage is rejected too.
            writeFile(path, good + [0])
            #expect(isFormatOrAuthenticationError(keystoreError { _ = try keystore.load(name: "k", protection: protection) }))
            writeFile(path, good)
            #expect(try keystore.load(name: "k", protection: protection) == SecretBytes([0xde, 0xad, 0xbe, 0xef]))
        }
    }

    private func isFormatOrAuthenticationError(_ error: KeystoreError?) -> Bool {
        switch error {
        case .wrongPassphraseOrCorrupt, .wrongMachineSecretOrCorrupt, .truncated, .notAKeystoreFile,
            .unsupportedVersion, .protectionMismatch, .corruptHeader:
            return true
        default:
            return false
        }
    }

    @Test func badMagicAndForeignFiles() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (keystore, path) = try makeEntry(temporary, protection: TestProtection.passphrase())
        var file = readFile(path)
        file[0] = UInt8(ascii: "X")
        writeFile(path, file)
        #expect(
            keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
                == .notAKeystoreFile(path: path))

        writeFile(path, Array("-----BEGIN PRIVATE KEY-----\n".utf8))
        #expect(
            keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
                == .notAKeystoreFile(path: path))
        writeFile(path, Array("EL".utf8) + [0])
        #expect(
            keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
                == .notAKeystoreFile(path: path))
    }

    @Test func unsupportedVersion() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (keystore, path) = try makeEntry(temporary, protection: TestProtection.passphrase())
        var file = readFile(path)
        file[5] = 2
        writeFile(path, file)
        let error = keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
        #expect(error == .unsupportedVersion(path: path, version: 2))
        #expect(error?.description.contains("version 2") == true)
    }

    @Test func protectionMismatchBothWays() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let machine = KeyProtection.machineSecret(path: temporary.child("machine-secret"))
        try keystore.store(SecretBytes([1]), name: "by-passphrase", protection: TestProtection.passphrase())
        try keystore.store(SecretBytes([2]), name: "by-machine", protection: machine)

        #expect(
            keystoreError { _ = try keystore.load(name: "by-passphrase", protection: machine) }
                == .protectionMismatch(
                    path: try keystore.path(for: "by-passphrase"), file: .passphrase, requested: .machineSecret))
        #expect(
            keystoreError { _ = try keystore.load(name: "by-machine", protection: TestProtection.passphrase()) }
                == .protectionMismatch(
                    path: try keystore.path(for: "by-machine"), file: .machineSecret, requested: .passphrase))
    }

    @Test func absurdStoredCostsAreRejectedBeforeDerivation() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let (keystore, path) = try makeEntry(temporary, protection: TestProtection.passphrase())
        var file = readFile(path)
        file[19] = 0x40  // memlimit ~ 4.6 EB: must not be attempted
        writeFile(path, file)
        let error = keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
        guard case .corruptHeader = error else {
            Issue.record("expected .corruptHeader, got \(String(describing: error))")
            return
        }
    }
}

import ElaKeystore
import ElaSodium
import ElaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Machine-secret checks, crash leftovers, names, and "load never creates anything".
@Suite("Keystore safety", .ownThread)
struct KeystoreSafetyTests {
    @Test func worldReadableMachineSecretIsRefused() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let secretPath = temporary.child("machine-secret")
        let machine = KeyProtection.machineSecret(path: secretPath)
        let keystore = try Keystore(directory: temporary.child("keystore"))
        try keystore.store(SecretBytes([1]), name: "k", protection: machine)

        #expect(chmod(secretPath, 0o644) == 0)
        let loadError = keystoreError { _ = try keystore.load(name: "k", protection: machine) }
        #expect(loadError == .insecureMachineSecret(path: secretPath, mode: 0o644))
        #expect(loadError?.description.contains("0644") == true)
        #expect(loadError?.description.contains(secretPath) == true)
        let storeError = keystoreError { try keystore.store(SecretBytes([2]), name: "k2", protection: machine) }
        #expect(storeError == .insecureMachineSecret(path: secretPath, mode: 0o644))
        #expect(!keystore.exists(name: "k2"))

        #expect(chmod(secretPath, 0o620) == 0)  // group-writable is refused too
        #expect(keystoreError { _ = try keystore.load(name: "k", protection: machine) } != nil)
    }

    @Test func machineSecretOfTheWrongSizeIsRefused() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let secretPath = temporary.child("machine-secret")
        writeFile(secretPath, [UInt8](repeating: 7, count: 31))
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let error = keystoreError {
            try keystore.store(SecretBytes([1]), name: "k", protection: .machineSecret(path: secretPath))
        }
        #expect(error == .machineSecretWrongSize(path: secretPath, expected: 32, got: 31))
        #expect(readFile(secretPath).count == 31)  // never replaced
    }

    @Test func replacedMachineSecretFailsAuthentication() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let secretPath = temporary.child("machine-secret")
        let machine = KeyProtection.machineSecret(path: secretPath)
        let keystore = try Keystore(directory: temporary.child("keystore"))
        try keystore.store(SecretBytes([1]), name: "k", protection: machine)
        writeFile(secretPath, Sodium.randomBytes(32))
        #expect(
            keystoreError { _ = try keystore.load(name: "k", protection: machine) }
                == .wrongMachineSecretOrCorrupt(path: try keystore.path(for: "k")))
    }

    @Test func loadNeverCreatesAnything() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let secretPath = temporary.child("machine-secret")
        let keystore = try Keystore(directory: temporary.child("keystore"))

        #expect(
            keystoreError { _ = try keystore.load(name: "device-key", protection: TestProtection.passphrase()) }
                == .notFound(path: try keystore.path(for: "device-key")))
        #expect(
            keystoreError { _ = try keystore.load(name: "device-key", protection: .machineSecret(path: secretPath)) }
                == .notFound(path: try keystore.path(for: "device-key")))
        #expect(listDirectory(temporary.child("keystore")).isEmpty)
        #expect(!fileExists(secretPath))

        // An existing entry whose machine secret has gone: reported, not re-created.
        try keystore.store(SecretBytes([1]), name: "device-key", protection: .machineSecret(path: secretPath))
        #expect(unlink(secretPath) == 0)
        #expect(
            keystoreError { _ = try keystore.load(name: "device-key", protection: .machineSecret(path: secretPath)) }
                == .machineSecretMissing(path: secretPath))
        #expect(!fileExists(secretPath))
    }

    @Test func leftoverTempFileFromACrashIsIgnoredThenCleanedUp() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.child("keystore")
        let keystore = try Keystore(directory: directory)
        let protection = TestProtection.passphrase()
        let secret = Sodium.randomSecret(32)
        try keystore.store(secret, name: "device-key", protection: protection)

        // What a store killed mid-write leaves behind: a partial temp file next to the good one.
        let good = readFile(directory + "/device-key")
        writeFile(directory + "/.tmp-device-key-0123456789abcdef", Array(good.prefix(40)))
        writeFile(directory + "/.tmp-other-fedcba9876543210", [])

        #expect(try keystore.load(name: "device-key", protection: protection) == secret)
        #expect(try keystore.names() == ["device-key"])
        #expect(!keystore.exists(name: ".tmp-device-key-0123456789abcdef"))

        try keystore.store(SecretBytes([5]), name: "other", protection: protection)
        #expect(listDirectory(directory) == [".lock", "device-key", "other"])
        #expect(try keystore.load(name: "device-key", protection: protection) == secret)
    }

    @Test func namesSkipsTempFilesDirectoriesAndInvalidNames() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let directory = temporary.child("keystore")
        let keystore = try Keystore(directory: directory)
        try keystore.store(SecretBytes([1]), name: "a", protection: TestProtection.passphrase())
        writeFile(directory + "/.tmp-a-00", [1])
        writeFile(directory + "/.hidden", [1])
        writeFile(directory + "/bad name", [1])
        #expect(mkdir(directory + "/subdir", 0o700) == 0)
        #expect(try keystore.names() == ["a"])
    }

    @Test(arguments: ["", ".hidden", "..", "../escape", "a/b", "/abs", "sp ace", "é", String(repeating: "x", count: 65)])
    func invalidNamesAreRejected(name: String) throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let error = keystoreError { try keystore.store(SecretBytes([1]), name: name, protection: TestProtection.passphrase()) }
        guard case .invalidName = error else {
            Issue.record("'\(name)': expected .invalidName, got \(String(describing: error))")
            return
        }
        #expect(keystoreError { _ = try keystore.load(name: name, protection: TestProtection.passphrase()) } == error)
        #expect(!keystore.exists(name: name))
        #expect(listDirectory(temporary.child("keystore")).isEmpty)
    }

    @Test func longestValidNameWorks() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        let name = String(repeating: "x", count: 64)
        try keystore.store(SecretBytes([1]), name: name, protection: TestProtection.passphrase())
        #expect(try keystore.names() == [name])
    }

    @Test func badStoreInputsAreTypedErrors() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        #expect(
            keystoreError { try keystore.store(SecretBytes([1]), name: "k", protection: .passphrase(SecretBytes([]), .testing)) }
                == .emptyPassphrase)
        let tooBig = SecretBytes([UInt8](repeating: 0, count: Keystore.maximumSecretLength + 1))
        #expect(
            keystoreError { try keystore.store(tooBig, name: "k", protection: TestProtection.passphrase()) }
                == .secretTooLarge(size: Keystore.maximumSecretLength + 1, limit: Keystore.maximumSecretLength))
        let absurd = KeyProtection.passphrase(SecretBytes(utf8: "p"), .init(opsLimit: 1, memLimitBytes: 8 << 30))
        guard case .invalidParameters = keystoreError({ try keystore.store(SecretBytes([1]), name: "k", protection: absurd) })
        else {
            Issue.record("expected .invalidParameters")
            return
        }
        #expect(!keystore.exists(name: "k"))
    }

    @Test func keystoreOnAFileOrMissingParentIsAnIOError() {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        writeFile(temporary.child("file"), [1])
        guard case .io(let code, _, let path) = keystoreError({ _ = try Keystore(directory: temporary.child("file")) })
        else {
            Issue.record("expected .io")
            return
        }
        #expect(code == ENOTDIR)
        #expect(path == temporary.child("file"))
        guard case .io(ENOENT, _, _) = keystoreError({ _ = try Keystore(directory: temporary.child("no/such")) }) else {
            Issue.record("expected .io(ENOENT)")
            return
        }
    }

    @Test func fifoInPlaceOfAnEntryOrMachineSecretDoesNotHang() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        #expect(mkfifo(temporary.child("keystore/k"), 0o600) == 0)
        #expect(
            keystoreError { _ = try keystore.load(name: "k", protection: TestProtection.passphrase()) }
                == .notARegularFile(path: try keystore.path(for: "k")))
        #expect(mkfifo(temporary.child("machine-secret"), 0o600) == 0)
        #expect(
            keystoreError {
                try keystore.store(SecretBytes([1]), name: "j", protection: .machineSecret(path: temporary.child("machine-secret")))
            } == .notARegularFile(path: temporary.child("machine-secret")))
    }

    @Test func symlinkedEntryIsRefused() throws {
        let temporary = TemporaryDirectory()
        defer { temporary.remove() }
        let keystore = try Keystore(directory: temporary.child("keystore"))
        try keystore.store(SecretBytes([1]), name: "real", protection: TestProtection.passphrase())
        #expect(symlink(temporary.child("keystore/real"), temporary.child("keystore/link")) == 0)
        #expect(
            keystoreError { _ = try keystore.load(name: "link", protection: TestProtection.passphrase()) }
                == .notARegularFile(path: try keystore.path(for: "link")))
    }
}

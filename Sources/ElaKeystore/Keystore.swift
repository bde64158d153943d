#if canImport(Glibc)
import Glibc
#endif
public import ElaSodium

/// Encrypted store of named secrets, one file per secret in a directory (the agent's
/// `<state>/keystore/`). Format and key derivation: see `KeystoreFormat`.
///
/// Files are mode 0600 in a 0700 directory and are replaced atomically. `load` never creates
/// anything, so a missing or damaged key is reported, never silently replaced by a new identity.
public struct Keystore: Sendable {
    /// The directory holding the entries.
    public let directory: String

    /// Largest secret `store` accepts (64 KiB): keys and mnemonics are far smaller.
    public static let maximumSecretLength = 64 * 1024
    /// Longest entry name.
    public static let maximumNameLength = EntryName.maximumLength

    /// Opens the keystore in `directory`, creating the directory (mode 0700) if it is missing.
    /// The parent must exist. An existing directory with any other mode is set to 0700.
    public init(directory: String) throws(KeystoreError) {
        self.directory = directory
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .io(errno: errno, operation: "create directory", path: directory)
        }
        var status = stat()
        guard stat(directory, &status) == 0 else { throw .io(errno: errno, operation: "stat", path: directory) }
        guard FileSystem.isDirectory(status) else { throw .io(errno: ENOTDIR, operation: "open keystore", path: directory) }
        if status.st_mode & 0o7777 != 0o700 {
            guard chmod(directory, 0o700) == 0 else { throw .io(errno: errno, operation: "chmod 0700", path: directory) }
        }
    }

    /// The file that holds entry `name`.
    public func path(for name: String) throws(KeystoreError) -> String {
        try EntryName.validate(name)
        return FileSystem.join(directory, name)
    }

    /// Encrypts `secret` and writes it as entry `name`, replacing any previous entry atomically.
    /// With `.machineSecret` the machine secret file is created if missing. Leftover temp files
    /// from an interrupted earlier store are removed.
    public func store(_ secret: SecretBytes, name: String, protection: KeyProtection) throws(KeystoreError) {
        let path = try path(for: name)
        guard secret.count <= Self.maximumSecretLength else {
            throw .secretTooLarge(size: secret.count, limit: Self.maximumSecretLength)
        }
        let salt = Sodium.randomBytes(KeystoreFormat.saltLength)
        var header = KeystoreFormat.Header(
            kind: protection.kind, parameters: nil, salt: salt,
            nonce: XChaCha20Poly1305.randomNonce(), ciphertextLength: secret.count + KeystoreFormat.tagLength)
        let key: SecretBytes
        switch protection {
        case .passphrase(let passphrase, let parameters):
            guard !passphrase.isEmpty else { throw .emptyPassphrase }
            if let problem = KeystoreFormat.checkParameters(parameters) { throw .invalidParameters(problem) }
            header.parameters = parameters
            key = try passphraseKey(passphrase, salt: salt, parameters: parameters, path: path)
        case .machineSecret(let secretPath):
            key = try machineKey(MachineSecret.readOrCreate(secretPath), salt: salt, path: secretPath)
        }
        let associatedData = header.encoded()
        let ciphertext: [UInt8]
        do {
            ciphertext = try XChaCha20Poly1305.seal(secret, key: key, nonce: header.nonce, associatedData: associatedData)
        } catch {
            throw .crypto(error, path: path)
        }
        // The slow key derivation happened above, outside the lock.
        try FileSystem.withDirectoryLock(directory) { () throws(KeystoreError) in
            removeTemporaryFiles()
            try FileSystem.writeAtomically(associatedData + ciphertext, directory: directory, name: name)
        }
    }

    /// Decrypts entry `name`. Throws `notFound` if it does not exist; never creates anything
    /// (not even a missing machine secret).
    public func load(name: String, protection: KeyProtection) throws(KeystoreError) -> SecretBytes {
        let path = try path(for: name)
        let limit = KeystoreFormat.headerLength(.passphrase) + Self.maximumSecretLength + KeystoreFormat.tagLength
        let file = try FileSystem.readEntry(path, limit: limit)
        let (header, associatedData, ciphertext) = try KeystoreFormat.parse(file, path: path, expecting: protection.kind)
        let key: SecretBytes
        switch protection {
        case .passphrase(let passphrase, _):
            // parse() guarantees stored parameters for the passphrase kind.
            guard let parameters = header.parameters else {
                throw .corruptHeader(path: path, reason: "missing Argon2id parameters")
            }
            key = try passphraseKey(passphrase, salt: header.salt, parameters: parameters, path: path)
        case .machineSecret(let secretPath):
            key = try machineKey(MachineSecret.read(secretPath), salt: header.salt, path: secretPath)
        }
        do {
            return try XChaCha20Poly1305.open(ciphertext, key: key, nonce: header.nonce, associatedData: associatedData)
        } catch .authenticationFailed {
            switch protection.kind {
            case .passphrase: throw .wrongPassphraseOrCorrupt(path: path)
            case .machineSecret: throw .wrongMachineSecretOrCorrupt(path: path)
            }
        } catch {
            throw .crypto(error, path: path)
        }
    }

    /// True if entry `name` exists (false for invalid names).
    public func exists(name: String) -> Bool {
        guard let path = try? path(for: name) else { return false }
        var status = stat()
        return lstat(path, &status) == 0 && FileSystem.isRegularFile(status)
    }

    /// Deletes entry `name`. Returns false if there was no such entry.
    @discardableResult
    public func remove(name: String) throws(KeystoreError) -> Bool {
        let path = try path(for: name)
        return try FileSystem.withDirectoryLock(directory) { () throws(KeystoreError) -> Bool in
            guard unlink(path) == 0 else {
                if errno == ENOENT { return false }
                throw .io(errno: errno, operation: "remove", path: path)
            }
            try FileSystem.syncDirectory(directory)
            return true
        }
    }

    /// Names of all entries, sorted. Temp files, the lock file and anything that is not a
    /// regular file with a valid entry name are skipped.
    public func names() throws(KeystoreError) -> [String] {
        try FileSystem.list(directory)
            .filter { $0.isRegularFile && EntryName.isValid($0.name) }
            .map(\.name)
            .sorted()
    }

    /// Deletes `.tmp-*` files left by a store that crashed. Called with the directory lock held,
    /// so no store in progress can own them. Failures only leave clutter, so they are ignored.
    private func removeTemporaryFiles() {
        guard let entries = try? FileSystem.list(directory) else { return }
        for entry in entries where entry.name.hasPrefix(FileSystem.temporaryPrefix) {
            _ = unlink(FileSystem.join(directory, entry.name))
        }
    }

    private func passphraseKey(
        _ passphrase: SecretBytes, salt: [UInt8], parameters: Argon2id.Parameters, path: String
    ) throws(KeystoreError) -> SecretBytes {
        do {
            return try Argon2id.deriveKey(
                passphrase: passphrase, salt: salt, parameters: parameters, length: KeystoreFormat.keyLength)
        } catch {
            throw .crypto(error, path: path)
        }
    }

    private func machineKey(_ machineSecret: SecretBytes, salt: [UInt8], path: String) throws(KeystoreError)
        -> SecretBytes
    {
        do {
            return try GenericHash.keyed(
                KeystoreFormat.machineSecretContext + salt, key: machineSecret, length: KeystoreFormat.keyLength)
        } catch {
            throw .crypto(error, path: path)
        }
    }
}

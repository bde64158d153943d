#if canImport(Glibc)
import Glibc
#endif
import ElaSodium

/// The root-only machine secret: exactly 32 random bytes in a file of mode 0600, owned by the
/// user running the agent. Never used as a key directly (see `KeystoreFormat`).
enum MachineSecret {
    static let length = 32

    /// Reads and checks the secret; throws `machineSecretMissing` if there is no file.
    static func read(_ path: String) throws(KeystoreError) -> SecretBytes {
        let fd: Int32
        switch FileSystem.open(path, flags: O_RDONLY | O_CLOEXEC | O_NONBLOCK) {
        case .success(let opened): fd = opened
        case .failure(let code) where code == ENOENT: throw .machineSecretMissing(path: path)
        case .failure(let code): throw .io(errno: code, operation: "open machine secret", path: path)
        }
        defer { _ = close(fd) }
        // Checked on the open descriptor, so the file cannot be swapped between check and read.
        let status = try FileSystem.fileStatus(fd, path: path)
        guard FileSystem.isRegularFile(status) else { throw .notARegularFile(path: path) }
        guard status.st_mode & 0o077 == 0 else { throw .insecureMachineSecret(path: path, mode: status.st_mode & 0o7777) }
        guard status.st_uid == geteuid() else {
            throw .machineSecretWrongOwner(path: path, owner: status.st_uid, expected: geteuid())
        }
        guard Int(status.st_size) == length else {
            throw .machineSecretWrongSize(path: path, expected: length, got: Int(status.st_size))
        }
        var got = 0
        let secret = try SecretBytes(count: length) { (buffer) throws(KeystoreError) in
            got = try FileSystem.readFully(fd, into: buffer, path: path)
        }
        // A file that changed size after fstat is caught here, not silently cut.
        var spare: UInt8 = 0
        let more = try withUnsafeMutableBytes(of: &spare) { buffer in
            FileSystem.catching { () throws(KeystoreError) in try FileSystem.readFully(fd, into: buffer, path: path) }
        }.get()
        spare = 0
        guard got == length, more == 0 else {
            throw .machineSecretWrongSize(path: path, expected: length, got: got + more)
        }
        return secret
    }

    /// Reads the secret, creating it first if the file does not exist.
    static func readOrCreate(_ path: String) throws(KeystoreError) -> SecretBytes {
        do {
            return try read(path)
        } catch .machineSecretMissing {
            try create(path)
            return try read(path)
        }
    }

    /// Creates the secret atomically: write a 0600 temp file, fsync, then `link` it into place.
    /// `link` fails with EEXIST instead of replacing, so a secret created concurrently by someone
    /// else is never overwritten (overwriting would orphan every key protected by it).
    private static func create(_ path: String) throws(KeystoreError) {
        let directory = FileSystem.parent(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        // Dot-prefixed, so a keystore listing the same directory ignores it.
        let temporary = FileSystem.join(directory, "." + base + ".tmp-" + FileSystem.hex(Sodium.randomBytes(8)))
        let fd: Int32
        switch FileSystem.open(temporary, flags: O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode: 0o600) {
        case .success(let opened): fd = opened
        case .failure(let code): throw .io(errno: code, operation: "create machine secret", path: temporary)
        }
        defer { _ = unlink(temporary) }
        do throws(KeystoreError) {
            guard fchmod(fd, 0o600) == 0 else { throw .io(errno: errno, operation: "chmod", path: temporary) }
            let secret = Sodium.randomSecret(length)
            let failure: Int32? = secret.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return EIO }
                var written = 0
                while written < buffer.count {
                    let result = write(fd, base + written, buffer.count - written)
                    if result > 0 {
                        written += result
                    } else if !(result < 0 && errno == EINTR) {
                        return result < 0 ? errno : EIO
                    }
                }
                return nil
            }
            if let failure { throw .io(errno: failure, operation: "write", path: temporary) }
            guard fsync(fd) == 0 else { throw .io(errno: errno, operation: "fsync", path: temporary) }
        } catch {
            _ = close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw .io(errno: errno, operation: "close", path: temporary) }
        if link(temporary, path) != 0 && errno != EEXIST {
            throw .io(errno: errno, operation: "create machine secret", path: path)
        }
        try FileSystem.syncDirectory(directory)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
internal import ElaFileSystem

/// An exclusive `flock` on `<data-dir>/ela-regtest.lock`, so two nodes never write one chain database.
/// Released by `release()` or when the process exits.
final class DataDirectoryLock: Sendable {
    let fd: Int32

    init(directory: String) throws(RegtestError) {
        let path = directory + "/ela-regtest.lock"
        let held: Int32?
        do { held = try FileSystem.lockExclusively(path) } catch { throw RegtestError(.storage, "cannot lock \(path): \(error.reason)") }
        guard let held else { throw RegtestError(.storage, "another ela-regtest is running with the data directory \(directory)") }
        self.fd = held
    }

    /// Unlocks explicitly first: a child process being spawned elsewhere in this process may briefly hold a
    /// duplicate of the descriptor (until its exec), and a plain close would leave the lock held meanwhile.
    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

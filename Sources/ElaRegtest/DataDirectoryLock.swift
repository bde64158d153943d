#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on `<data-dir>/ela-regtest.lock`, so two nodes never write one chain database.
/// Released by `release()` or when the process exits.
final class DataDirectoryLock: Sendable {
    let fd: Int32

    init(directory: String) throws(RegtestError) {
        let path = directory + "/ela-regtest.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RegtestError(.storage, "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw RegtestError(.storage, "another ela-regtest is running with the data directory \(directory)")
        }
        self.fd = fd
    }

    /// Unlocks explicitly first: a child process being spawned elsewhere in this process may briefly hold a
    /// duplicate of the descriptor (until its exec), and a plain close would leave the lock held meanwhile.
    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a state directory (`<dir>/agent.lock`), so two agents, or an agent and an offline
/// `elactl identity restore`, never share a keystore and database. Released on `release()` or process exit.
public final class StateDirectoryLock: Sendable {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let fd: Int32
    public let path: String

    public init(directory: String) throws(StateDirectoryLock.Error) {
        path = directory + "/agent.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Error(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Error(message: "another ela-agent (or elactl) is using this state directory (\(path) is locked)")
        }
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Creates a directory and its parents (0755); the last component gets `mode` (also when it already exists).
public func makeDirectory(_ path: String, mode: UInt32) throws(StateDirectoryLock.Error) {
    var prefix = ""
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw StateDirectoryLock.Error(message: "cannot create \(prefix): \(String(cString: strerror(errno)))")
        }
    }
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
        throw StateDirectoryLock.Error(message: "\(path) is not a directory")
    }
    if st.st_mode & 0o777 != mode_t(mode) && chmod(path, mode_t(mode)) != 0 {
        throw StateDirectoryLock.Error(message: "cannot set mode of \(path): \(String(cString: strerror(errno)))")
    }
}

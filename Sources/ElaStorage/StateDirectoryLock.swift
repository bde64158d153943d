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

#if canImport(Glibc)
import Glibc
#endif
internal import ElaFileSystem

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
        let held: Int32?
        do { held = try FileSystem.lockExclusively(path) } catch { throw Error(message: "cannot lock \(path): \(error.reason)") }
        guard let held else {
            throw Error(message: "another ela-agent (or elactl) is using this state directory (\(path) is locked)")
        }
        fd = held
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

#if canImport(Glibc)
import Glibc
#endif
internal import Synchronization

/// SIGTERM and SIGINT without Foundation or Dispatch: the handler only writes a byte into a pipe (async-signal-safe),
/// and the reader thread polls the pipe's other end next to the socket. The byte is never drained: once asked to
/// terminate, the process stays so. SIGPIPE is ignored, so a vanished host is a write error, not a death.
enum TerminationSignals {
    private static let pipeWriteEnd = Atomic<Int32>(-1)
    private static let pipeReadEnd = Mutex<Int32?>(nil)

    /// Installs the handlers once per process and returns the descriptor that becomes readable on a signal.
    static func install() -> Int32? {
        pipeReadEnd.withLock { readEnd -> Int32? in
            if let readEnd { return readEnd }
            var fds: [Int32] = [-1, -1]
            guard Pipe.make(&fds, nonBlocking: true) else { return nil }
            pipeWriteEnd.store(fds[1], ordering: .sequentiallyConsistent)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                let saved = errno
                let fd = TerminationSignals.pipeWriteEnd.load(ordering: .relaxed)
                if fd >= 0 {
                    var byte: UInt8 = 1
                    _ = write(fd, &byte, 1)
                }
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(SIGTERM, &action, nil)
            sigaction(SIGINT, &action, nil)
            signal(SIGPIPE, SIG_IGN)
            readEnd = fds[0]
            return fds[0]
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Blocking reads and writes on the plugin socket, retrying EINTR; writes never raise SIGPIPE.
enum SocketIO {
    /// Writes all of `bytes`; false when the peer is gone or the socket failed.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            var useSend = true
            while offset < raw.count {
                let remaining = raw.count - offset
                var n = useSend ? send(fd, raw.baseAddress! + offset, remaining, Int32(MSG_NOSIGNAL)) : write(fd, raw.baseAddress! + offset, remaining)
                if n < 0 && errno == ENOTSOCK && useSend {
                    // fd 3 may be a pipe in odd setups; plain write then.
                    useSend = false
                    n = write(fd, raw.baseAddress! + offset, remaining)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// Writes what the socket takes without blocking; returns how many bytes that was (0 when it is full, failed, or
    /// is not a socket: the caller hands the rest to a thread that may block).
    static func writeWithoutWaiting(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if n < 0 {
                    if errno == EINTR { continue }
                    break
                }
                offset += n
            }
            return offset
        }
    }

    enum ReadResult {
        case bytes(Int)
        case endOfStream
        case failed(Int32)
    }

    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> ReadResult {
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { return .bytes(n) }
            if n == 0 { return .endOfStream }
            let e = errno
            if e == EINTR || e == EAGAIN { continue }
            // A host that vanished without a clean close is still the end of the conversation.
            if e == ECONNRESET { return .endOfStream }
            return .failed(e)
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// `pipe2` is a GNU extension Glibc's module does not show; pipe + fcntl does the same before any spawn can race.
enum Pipe {
    static func make(_ fds: inout [Int32], nonBlocking: Bool) -> Bool {
        guard fds.count == 2, pipe(&fds) == 0 else { return false }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        return true
    }
}

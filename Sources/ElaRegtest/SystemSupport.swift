#if canImport(Glibc)
    import Glibc
#endif

/// Small POSIX helpers (no Foundation).
enum SystemSupport {
    /// The wall clock in Unix seconds.
    static func now() -> UInt32 { UInt32(clamping: time(nil)) }

    /// Writes `line` and a newline to stdout in one call (scripts wait for the ready line).
    static func printLine(_ line: String, fd: Int32 = 1) {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }

    /// Replaces `path` with `text` atomically (write a sibling temp file, then rename).
    static func writeFile(_ path: String, _ text: String) throws(RegtestError) {
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RegtestError(.storage, "cannot create \(temp): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temp, path) == 0 else {
            unlink(temp)
            throw RegtestError(.storage, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// `path` made absolute against the working directory.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd == "/" ? "/" + path : cwd + "/" + path
    }
}

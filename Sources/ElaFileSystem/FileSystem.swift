#if canImport(Glibc)
import Glibc
#endif

/// A file-system operation that failed, with the path and the OS reason.
public struct FileSystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var errno: Int32?

    public init(path: String, reason: String, errno: Int32? = nil) {
        self.path = path
        self.reason = reason
        self.errno = errno
    }

    public var description: String { "\(path): \(reason)" }

    static func current(_ path: String, _ operation: String) -> FileSystemError {
        let code = Glibc.errno
        return FileSystemError(path: path, reason: "\(operation): \(String(cString: strerror(code)))", errno: code)
    }
}

/// The few file operations the agent and CLI need, without Foundation: EINTR-safe, size-limited reads.
public enum FileSystem {
    /// Removes `path` and, for a directory, everything below it. Symbolic links are removed, never followed (a
    /// trailing slash, which would make lstat follow one, is dropped). False when something could not be removed
    /// (what could is gone). Below `path` it works relative to directory descriptors opened without following links,
    /// so an entry swapped for a link meanwhile is removed as a link, never followed out of the tree.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return unlink(path) == 0 }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let removedAll = removeContents(ofDirectory: fd)
        close(fd)
        return rmdir(path) == 0 && removedAll
    }

    /// Empties the directory open at `directory` (the caller closes it), depth first.
    private static func removeContents(ofDirectory directory: Int32) -> Bool {
        let listing = dup(directory)
        guard listing >= 0, let d = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            return false
        }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
        var removedAll = true
        for name in names {
            if unlinkat(directory, name, 0) == 0 { continue }
            // Linux answers EISDIR for a directory, but checks permissions first: in a directory we may not write to,
            // a subdirectory answers EACCES or EPERM and may still be emptied. A link or a file is never opened.
            let failure = errno
            guard failure == EISDIR || failure == EACCES || failure == EPERM else {
                if failure != ENOENT { removedAll = false }
                continue
            }
            let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard child >= 0 else {
                removedAll = false
                continue
            }
            let emptied = removeContents(ofDirectory: child)
            close(child)
            if unlinkat(directory, name, AT_REMOVEDIR) != 0 || !emptied { removedAll = false }
        }
        return removedAll
    }

    /// Opens (creating, mode 0600, never through a symbolic link) `path` and takes an exclusive `flock` on it without
    /// waiting: the descriptor that holds it, which the caller closes to release it (the process ending releases it
    /// too); nil when another process holds it.
    public static func lockExclusively(_ path: String) throws(FileSystemError) -> Int32? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .current(path, "open") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = FileSystemError.current(path, "lock")
            close(fd)
            if error.errno == EWOULDBLOCK { return nil }
            throw error
        }
        return fd
    }

    /// True when `path` is on a filesystem held in memory (tmpfs, ramfs): files rewritten often there never wear a
    /// board's SD card.
    /// (From /proc/self/mounts: the mount with the longest mount point above the resolved path; Glibc's Swift
    /// module has no statfs.)
    public static func isInMemory(_ path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        let target = String(cString: resolved)
        free(resolved)
        guard let mounts = try? readText("/proc/self/mounts") else { return false }
        var best = (length: -1, inMemory: false)
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            // Spaces and other odd bytes in mount points are written as octal escapes (\040).
            let point = String(fields[1]).replacingOctalEscapes()
            let covers = point == "/" || target == point || target.hasPrefix(point + "/")
            if covers && point.utf8.count >= best.length {
                best = (point.utf8.count, fields[2] == "tmpfs" || fields[2] == "ramfs")
            }
        }
        return best.inMemory
    }

    /// Reads a whole file; refuses files larger than `limit` bytes.
    public static func read(_ path: String, limit: Int = 16 << 20) throws(FileSystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .current(path, "cannot read") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            if n < 0 { throw .current(path, "cannot read") }
            if n == 0 { return out }
            out.append(contentsOf: buf[0..<n])
            if out.count > limit { throw FileSystemError(path: path, reason: "larger than \(limit) bytes") }
        }
    }

    /// Reads a UTF-8 text file.
    public static func readText(_ path: String, limit: Int = 1 << 20) throws(FileSystemError) -> String {
        let bytes = try read(path, limit: limit)
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw FileSystemError(path: path, reason: "not UTF-8 text")
        }
        return s
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names of the regular files directly in `directory` (no dot files), sorted.
    public static func regularFiles(in directory: String) throws(FileSystemError) -> [String] {
        guard let d = opendir(directory) else { throw .current(directory, "cannot list") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            var st = stat()
            if stat(directory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates a directory and its parents (0755); the last component gets `mode`, also when it already exists.
    public static func makeDirectory(_ path: String, mode: UInt32) throws(FileSystemError) {
        // Each ancestor in turn, relative to the working directory unless the path starts at the root (a relative
        // path's first part once became one under "/").
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if mkdir(prefix, 0o755) != 0 && Glibc.errno != EEXIST { throw .current(prefix, "cannot create") }
        }
        guard isDirectory(path) else { throw FileSystemError(path: path, reason: "not a directory") }
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & 0o777 != mode_t(mode), chmod(path, mode_t(mode)) != 0 {
            throw .current(path, "cannot set mode")
        }
    }

    /// The running executable's path (`/proc/self/exe`).
    public static func currentExecutable() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension FileSystem {
    /// Writes `bytes` to `path` atomically: a temp file in the same folder (O_EXCL), rename over the target. A reader
    /// sees the old file or the new one, never half of one. `durable` also fsyncs file and folder, so a crash
    /// cannot lose the new content once this returns (skip it for throwaway data written often).
    public static func writeAtomically(
        _ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, durable: Bool = true
    ) throws(FileSystemError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let temporary = path + ".tmp-\(getpid())-\(ts.tv_nsec)"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw .current(temporary, "cannot create") }
        var done = false
        defer { if !done { _ = unlink(temporary) } }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && Glibc.errno == EINTR { continue }
            guard n > 0 else {
                let e = FileSystemError.current(temporary, "cannot write")
                close(fd)
                throw e
            }
            written += n
        }
        guard fchmod(fd, mode_t(mode)) == 0, !durable || fsync(fd) == 0 else {
            let e = FileSystemError.current(temporary, "cannot sync")
            close(fd)
            throw e
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .current(path, "cannot replace") }
        done = true
        guard durable else { return }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}

extension String {
    /// `\ooo` octal escapes (as in /proc/self/mounts) replaced by their bytes.
    fileprivate func replacingOctalEscapes() -> String {
        guard contains("\\") else { return self }
        var out: [UInt8] = []
        let bytes = Array(utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

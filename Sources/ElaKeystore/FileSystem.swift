#if canImport(Glibc)
import Glibc
#endif
import ElaSodium

/// The keystore's only contact with the file system: thin POSIX wrappers that retry EINTR,
/// finish short reads and writes, and turn failures into `KeystoreError.io`.
enum FileSystem {
    /// Outcome of `open`: a descriptor, or the errno it failed with.
    enum Opened {
        case success(Int32)
        case failure(Int32)
    }

    /// Opens `path`, retrying on EINTR.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0) -> Opened {
        while true {
            let fd = Glibc.open(path, flags, mode)
            if fd >= 0 { return .success(fd) }
            if errno != EINTR { return .failure(errno) }
        }
    }

    /// Runs a typed-throwing body inside a `rethrows` API (which would widen the error to
    /// `any Error`); unwrap with `.get()`.
    static func catching<R>(_ body: () throws(KeystoreError) -> R) -> Result<R, KeystoreError> {
        do {
            return .success(try body())
        } catch {
            return .failure(error)
        }
    }

    static func fileStatus(_ fd: Int32, path: String) throws(KeystoreError) -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .io(errno: errno, operation: "stat", path: path) }
        return status
    }

    static func isRegularFile(_ status: stat) -> Bool { status.st_mode & S_IFMT == S_IFREG }
    static func isDirectory(_ status: stat) -> Bool { status.st_mode & S_IFMT == S_IFDIR }

    /// Reads until `buffer` is full or end of file; returns the number of bytes read.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(KeystoreError)
        -> Int
    {
        guard let base = buffer.baseAddress else { return 0 }
        var total = 0
        while total < buffer.count {
            let got = Glibc.read(fd, base + total, buffer.count - total)
            if got > 0 {
                total += got
            } else if got == 0 {
                break
            } else if errno != EINTR {
                throw .io(errno: errno, operation: "read", path: path)
            }
        }
        return total
    }

    /// Writes all of `bytes`, continuing after short writes and EINTR.
    static func writeFully(_ fd: Int32, _ bytes: [UInt8], path: String) throws(KeystoreError) {
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var written = 0
            while written < buffer.count {
                let result = Glibc.write(fd, base + written, buffer.count - written)
                if result > 0 {
                    written += result
                } else if result < 0 && errno == EINTR {
                    continue
                } else {
                    return result < 0 ? errno : EIO
                }
            }
            return nil
        }
        if let failure { throw .io(errno: failure, operation: "write", path: path) }
    }

    /// Reads a whole regular file of at most `limit` bytes. Symlinks are refused: a keystore
    /// entry is always a file of its own. O_NONBLOCK keeps a FIFO planted at the path from
    /// blocking `open`; it is then refused as not a regular file.
    static func readEntry(_ path: String, limit: Int) throws(KeystoreError) -> [UInt8] {
        let fd: Int32
        switch open(path, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) {
        case .success(let opened): fd = opened
        case .failure(let code) where code == ENOENT: throw .notFound(path: path)
        case .failure(let code) where code == ELOOP: throw .notARegularFile(path: path)
        case .failure(let code): throw .io(errno: code, operation: "open", path: path)
        }
        defer { _ = close(fd) }
        let status = try fileStatus(fd, path: path)
        guard isRegularFile(status) else { throw .notARegularFile(path: path) }
        guard Int(status.st_size) <= limit else {
            throw .fileTooLarge(path: path, size: Int(status.st_size), limit: limit)
        }
        // Read one byte past the limit so a file that grew after fstat is still caught.
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        let count = try bytes.withUnsafeMutableBytes { buffer in
            catching { () throws(KeystoreError) in try readFully(fd, into: buffer, path: path) }
        }.get()
        guard count <= limit else { throw .fileTooLarge(path: path, size: count, limit: limit) }
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Writes `bytes` to `directory/name` atomically: a 0600 temp file in the same directory
    /// (O_EXCL, so never someone else's file), fsync, rename over the target, fsync the directory.
    /// A crash leaves either the old file or the new one, plus at most a `.tmp-*` leftover.
    static func writeAtomically(_ bytes: [UInt8], directory: String, name: String) throws(KeystoreError) {
        let target = join(directory, name)
        let temporary = join(directory, temporaryPrefix + name + "-" + hex(Sodium.randomBytes(8)))
        let fd: Int32
        switch open(temporary, flags: O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode: 0o600) {
        case .success(let opened): fd = opened
        case .failure(let code): throw .io(errno: code, operation: "create", path: temporary)
        }
        var renamed = false
        defer { if !renamed { _ = unlink(temporary) } }
        do throws(KeystoreError) {
            // The umask can only remove bits, but make the mode explicit anyway.
            guard fchmod(fd, 0o600) == 0 else { throw .io(errno: errno, operation: "chmod", path: temporary) }
            try writeFully(fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw .io(errno: errno, operation: "fsync", path: temporary) }
        } catch {
            _ = close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw .io(errno: errno, operation: "close", path: temporary) }
        guard rename(temporary, target) == 0 else { throw .io(errno: errno, operation: "rename", path: target) }
        renamed = true
        try syncDirectory(directory)
    }

    /// Makes renames, links and unlinks in `directory` durable.
    static func syncDirectory(_ directory: String) throws(KeystoreError) {
        let fd: Int32
        switch open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC) {
        case .success(let opened): fd = opened
        case .failure(let code): throw .io(errno: code, operation: "open directory", path: directory)
        }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw .io(errno: errno, operation: "fsync directory", path: directory) }
    }

    /// Names in `directory` (without "." and ".."), each with whether it is a regular file.
    static func list(_ directory: String) throws(KeystoreError) -> [(name: String, isRegularFile: Bool)] {
        guard let stream = opendir(directory) else { throw .io(errno: errno, operation: "list", path: directory) }
        defer { closedir(stream) }
        var entries: [(name: String, isRegularFile: Bool)] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var isRegular = Int32(entry.pointee.d_type) == Int32(DT_REG)
            if Int32(entry.pointee.d_type) == Int32(DT_UNKNOWN) {
                var status = stat()
                isRegular = lstat(join(directory, name), &status) == 0 && isRegularFile(status)
            }
            entries.append((name, isRegular))
        }
        return entries
    }

    /// Holds an exclusive `flock` on `directory/.lock` while `body` runs, so concurrent writers
    /// (threads or processes) never delete each other's temp files.
    static func withDirectoryLock<R>(_ directory: String, _ body: () throws(KeystoreError) -> R) throws(KeystoreError)
        -> R
    {
        let path = join(directory, lockFileName)
        let fd: Int32
        switch open(path, flags: O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode: 0o600) {
        case .success(let opened): fd = opened
        case .failure(let code): throw .io(errno: code, operation: "open lock file", path: path)
        }
        defer { _ = close(fd) }  // closing releases the lock
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .io(errno: errno, operation: "lock", path: path) }
        }
        return try body()
    }

    static let temporaryPrefix = ".tmp-"
    static let lockFileName = ".lock"

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Directory part of `path` ("." when there is none).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

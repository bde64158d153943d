#if canImport(Glibc)
import Glibc
#endif
public import ElaFileSystem

/// The only file in this module that talks to libc: directory listing (sysfs device links are symlinks to
/// directories, which `FileSystem.regularFiles` skips), atomic writes for the simulated tree, and the wall clock.
enum SysfsIO {
    /// Sysfs attribute files are one short line; anything bigger is not a sensor value.
    static let valueLimit = 4096

    /// Reads a small sysfs text file, mapping OS errors to typed sensor errors.
    static func readText(_ path: String) throws(SensorError) -> String {
        let bytes: [UInt8]
        do { bytes = try FileSystem.read(path, limit: valueLimit) } catch { throw SensorError(error) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func exists(_ path: String) -> Bool { FileSystem.exists(path) }

    /// Names in `directory` (no dot files), sorted; `nil` when the directory does not exist.
    /// Entries are not filtered by type: sysfs device entries are symlinks, callers check what they need.
    static func entries(in directory: String) throws(SensorError) -> [String]? {
        guard let d = opendir(directory) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw SensorError(FileSystemError(path: directory, reason: "cannot list: \(errorText(code))", errno: code))
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    static func isDirectory(_ path: String) -> Bool { FileSystem.isDirectory(path) }

    static func makeDirectory(_ path: String) throws(SensorError) {
        do { try FileSystem.makeDirectory(path, mode: 0o755) } catch {
            throw .writeFailed(path: error.path, reason: error.reason)
        }
    }

    /// Writes `text` so a concurrent reader sees the old or the new content, never a half-written value. Simulated
    /// values are rewritten every few hundred milliseconds, so no fsync.
    static func writeAtomically(_ path: String, _ text: String) throws(SensorError) {
        do { try FileSystem.writeAtomically(path, Array(text.utf8), mode: 0o644, durable: false) } catch {
            throw .writeFailed(path: error.path, reason: error.reason)
        }
    }

    /// Creates (or replaces) a symbolic link, as sysfs links class and bus entries to device directories.
    static func symlink(target: String, at path: String) throws(SensorError) {
        unlink(path)
        guard Glibc.symlink(target, path) == 0 else { throw .writeFailed(path: path, reason: errorText(errno)) }
    }

    /// $TMPDIR, or /tmp.
    static var temporaryBase: String {
        getenv("TMPDIR").flatMap { String(validatingCString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// A new private directory (mode 0700, unguessable name) under `base`.
    static func makeTemporaryDirectory(prefix: String, in base: String = temporaryBase) throws(SensorError) -> String {
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw .writeFailed(path: base, reason: errorText(errno)) }
        return String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Milliseconds since the Unix epoch.
    static func unixMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The first of `bases` on a memory filesystem that this process may write to.
    static func writableMemoryDirectory(among bases: [String]) -> String? {
        bases.first { FileSystem.isInMemory($0) && access($0, W_OK) == 0 }
    }

    static var processID: Int32 { getpid() }

    static let lockName = ".lock"

    /// Opens `<directory>/.lock` and takes an exclusive lock on it, held until ``release(_:)`` or the process ends.
    static func holdLock(in directory: String) throws(SensorError) -> Int32 {
        let path = directory + "/" + lockName
        let fd: Int32?
        do { fd = try FileSystem.lockExclusively(path) } catch { throw .writeFailed(path: path, reason: error.reason) }
        guard let fd else { throw .writeFailed(path: path, reason: "cannot lock: \(errorText(EWOULDBLOCK))") }
        return fd
    }

    static func release(_ lock: Int32) { close(lock) }

    /// Removes the `<prefix>-<pid>-*` directories in `base` that this user's simulations left behind when their
    /// process was killed. Only real directories owned by this uid and at least a minute old (one being set up right
    /// now may not hold its lock yet), and of those only the ones whose lock nobody holds (a live simulation holds it,
    /// whatever pid namespace it runs in), or without a lock file (a version without them) whose pid is gone.
    static func removeAbandonedSimulations(in base: String, prefix: String) {
        guard let names = try? entries(in: base) else { return }
        for name in names where name.hasPrefix(prefix + "-") {
            var st = stat()
            let path = base + "/" + name
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid(),
                Int(time(nil)) - Int(st.st_mtim.tv_sec) > 60
            else { continue }
            let lock = open(path + "/" + lockName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if lock >= 0 {
                defer { close(lock) }
                if flock(lock, LOCK_EX | LOCK_NB) == 0 { FileSystem.removeTree(path) }
            } else if let pid = Int32(name.dropFirst(prefix.count + 1).prefix { $0 != "-" }), pid != getpid(),
                kill(pid, 0) != 0 && errno == ESRCH
            {
                FileSystem.removeTree(path)
            }
        }
    }

    static func removeTree(_ path: String) { FileSystem.removeTree(path) }

    static let accessDenied: Set<Int32> = [EACCES, EPERM]
    static let notFound: Set<Int32> = [ENOENT, ENOTDIR, ENODEV, ENXIO]
}

extension SensorError {
    /// Maps a file-system failure to what it means for a sensor: gone, forbidden, or not answering.
    public init(_ error: FileSystemError) {
        if let code = error.errno, SysfsIO.notFound.contains(code) {
            self = .missingFile(path: error.path)
        } else if let code = error.errno, SysfsIO.accessDenied.contains(code) {
            self = .permissionDenied(path: error.path)
        } else {
            self = .unreadable(path: error.path, reason: error.reason)
        }
    }
}

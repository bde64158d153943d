#if canImport(Glibc)
import Glibc
#endif

/// Creates a directory and its parents; the last component gets `mode`.
func makeDirectory(_ path: String, mode: mode_t) throws {
    var prefix = ""
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
            throw AgentStartupError(message: "cannot create \(prefix): \(String(cString: strerror(errno)))")
        }
    }
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
        throw AgentStartupError(message: "\(path) is not a directory")
    }
    if st.st_mode & 0o777 != mode && chmod(path, mode) != 0 {
        throw AgentStartupError(message: "cannot set mode of \(path): \(String(cString: strerror(errno)))")
    }
}

/// An exclusive lock on the state directory, so two agents never share a keystore and database.
struct StateLock {
    let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AgentStartupError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw AgentStartupError(message: "another ela-agent is already using this state directory (\(path) is locked)")
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

struct TextFileError: Error, CustomStringConvertible {
    var description: String
}

func readTextFile(_ path: String, limit: Int = 1 << 20) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TextFileError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw TextFileError(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        out.append(contentsOf: buf[0..<n])
        if out.count > limit { throw TextFileError(description: "\(path) is larger than \(limit) bytes") }
    }
    guard let s = String(validating: out, as: UTF8.self) else {
        throw TextFileError(description: "\(path) is not valid UTF-8")
    }
    return s
}

func printLine(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

func printToStderr(_ s: String) {
    let bytes = Array((s + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Makes a command-line path absolute against the working directory (the agent may chdir later; systemd runs it from /).
func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buf, buf.count) != nil else { return path }
    let cwd = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return cwd == "/" ? "/" + path : cwd + "/" + path
}

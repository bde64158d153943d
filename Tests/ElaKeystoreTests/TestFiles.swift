#if canImport(Glibc)
import Glibc
#endif
import ElaKeystore
import ElaSodium
import Testing

/// A fresh directory under /tmp, removed with everything in it by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/ela-keystore-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        precondition(created != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func child(_ name: String) -> String { path + "/" + name }

    func remove() { removeTree(path) }
}

private func removeTree(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if status.st_mode & S_IFMT == S_IFDIR {
        for name in listDirectory(path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// Every name in `path` except "." and "..", sorted.
func listDirectory(_ path: String) -> [String] {
    guard let stream = opendir(path) else { return [] }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return bytes
}

/// Overwrites (or creates) `path` with `bytes` and sets `mode`.
func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    precondition(fd >= 0, "open \(path) failed")
    bytes.withUnsafeBytes { buffer in
        if let base = buffer.baseAddress { precondition(write(fd, base, buffer.count) == buffer.count) }
    }
    close(fd)
    chmod(path, mode)
}

func fileMode(_ path: String) -> mode_t? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return status.st_mode & 0o7777
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// A secret's bytes copied out, for assertions.
func bytes(of secret: SecretBytes) -> [UInt8] { secret.withUnsafeBytes { Array($0) } }

/// The error `body` throws, or nil if it succeeds. (Closures do not infer typed throws yet,
/// hence the cast; any other error type is a test failure.)
func keystoreError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> KeystoreError? {
    do {
        try body()
        return nil
    } catch let error as KeystoreError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Fast protections for tests (Argon2id at the library minimums).
enum TestProtection {
    static func passphrase(_ text: String = "correct horse battery staple") -> KeyProtection {
        .passphrase(SecretBytes(utf8: text), .testing)
    }
}

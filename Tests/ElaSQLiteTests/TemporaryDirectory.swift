import ElaTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A failure in the test helpers themselves (not in the code under test).
struct TestSetupError: Error, CustomStringConvertible {
    var description: String
}

/// Runs `body` with a new, unique directory, deleted with its contents afterwards (also when `body` throws).
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let directory = TemporaryDirectory(prefix: "ela-sqlite-test")
    defer { directory.remove() }
    return try await body(directory.path)
}

/// Whether a file (or directory) exists at `path`.
func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

/// Size in bytes of the file at `path`, or nil if it does not exist.
func fileSize(_ path: String) -> Int? {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : nil
}

/// Writes `bytes` to `path`, replacing it.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestSetupError(description: "open \(path): errno \(errno)") }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written > 0 else { throw TestSetupError(description: "write \(path): errno \(errno)") }
        offset += written
    }
}

/// Copies the file at `source` to `destination`.
func copyFile(_ source: String, to destination: String) throws {
    guard let bytes = TestData.read(source) else { throw TestSetupError(description: "cannot read \(source)") }
    try writeFile(destination, bytes)
}

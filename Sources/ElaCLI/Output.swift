#if canImport(Glibc)
import Glibc
#endif

/// Writes to stderr (diagnostics never go to stdout, which scripts parse).
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaJSON

/// A call's result: indented for a person at a terminal, one line for a script (or always indented with `--json`).
func resultText(_ value: JSONValue, json: Bool = false) -> String {
    json || isatty(1) == 1 ? JSONWriter.pretty(value) : JSONWriter.compact(value)
}

/// Writes to stderr (diagnostics never go to stdout, which scripts parse).
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

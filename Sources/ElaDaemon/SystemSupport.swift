#if canImport(Glibc)
import Glibc
#endif

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

/// `name` next to the running executable if it is there (a development build), else just `name` (installed on PATH).
func siblingExecutable(_ name: String) -> String {
    let argv0 = CommandLine.arguments.first ?? ""
    guard let slash = argv0.lastIndex(of: "/") else { return name }
    let candidate = String(argv0[..<slash]) + "/" + name
    return access(candidate, X_OK) == 0 ? candidate : name
}

/// The gid of a group from the system's group database (getgrnam_r), or nil if there is none by that name.
func groupID(named name: String) -> UInt32? {
    var group = Glibc.group()
    var result: UnsafeMutablePointer<Glibc.group>? = nil
    var buffer = [CChar](repeating: 0, count: 16384)
    guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
    return group.gr_gid
}

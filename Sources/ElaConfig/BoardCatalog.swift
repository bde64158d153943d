#if canImport(Glibc)
import Glibc
#endif

/// Finds board files: `$ELA_BOARDS_DIR`, the installed `/usr/share/ela-agent/boards`, or (development) the
/// repository's `Boards/` next to the build folder of the running executable.
public struct BoardCatalog: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public static func locate() -> BoardCatalog? {
        var candidates: [String] = []
        if let env = getenv("ELA_BOARDS_DIR"), let s = String(validatingCString: env), !s.isEmpty { candidates.append(s) }
        candidates.append("/usr/share/ela-agent/boards")
        // .../<repo>/.build/<triple>/<config>/ela-agent -> .../<repo>/Boards
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            var parts = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "/", omittingEmptySubsequences: false)
            if parts.count > 4 {
                parts.removeLast(4)
                candidates.append(parts.joined(separator: "/") + "/Boards")
            }
        }
        for dir in candidates {
            var st = stat()
            if stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return BoardCatalog(directory: dir) }
        }
        return nil
    }

    /// Board ids available (file names without `.toml`), sorted.
    public func ids() -> [String] {
        guard let d = opendir(directory) else { return [] }
        defer { closedir(d) }
        var ids: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasSuffix(".toml"), !name.hasPrefix(".") { ids.append(String(name.dropLast(5))) }
        }
        return ids.sorted()
    }

    /// Loads and checks `<id>.toml`.
    public func load(_ id: String) throws(ConfigError) -> BoardDescription {
        guard AgentConfig.isValidBoardId(id) else {
            throw ConfigError(file: nil, line: nil, key: "board", message: "'\(id)' is not a board id")
        }
        let path = directory + "/" + id + ".toml"
        guard let f = fopen(path, "rb") else {
            throw ConfigError(
                file: nil, line: nil, key: "board",
                message: "unknown board '\(id)' (no \(path); known: \(ids().joined(separator: ", ")))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            bytes.append(contentsOf: buf[0..<n])
            if n < buf.count || bytes.count > 1 << 20 { break }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, line: nil, key: nil, message: "not UTF-8 text")
        }
        return try BoardDescription.parse(text, fileName: path, expectedId: id)
    }
}

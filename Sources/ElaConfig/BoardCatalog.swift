#if canImport(Glibc)
import Glibc
#endif
import ElaFileSystem
internal import ElaSpelling

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
        if let exe = FileSystem.currentExecutable() {
            var parts = exe.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count > 4 {
                parts.removeLast(4)
                candidates.append(parts.joined(separator: "/") + "/Boards")
            }
        }
        return candidates.first(where: FileSystem.isDirectory).map(BoardCatalog.init(directory:))
    }

    /// Board ids available (file names without `.toml`), sorted.
    public func ids() -> [String] {
        ((try? FileSystem.regularFiles(in: directory)) ?? []).filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }
    }

    /// Loads and checks `<id>.toml`.
    public func load(_ id: String) throws(ConfigError) -> BoardDescription {
        guard AgentConfig.isValidBoardId(id) else {
            throw ConfigError(file: nil, line: nil, key: "board", message: "'\(id)' is not a board id")
        }
        let path = directory + "/" + id + ".toml"
        guard FileSystem.exists(path) else {
            throw ConfigError(
                file: nil, line: nil, key: "board",
                message: "unknown board '\(id)' (no \(path); \(Spelling.hint(for: id, among: ids(), kind: "boards")))")
        }
        let text: String
        do { text = try FileSystem.readText(path) } catch { throw ConfigError(file: path, line: nil, key: nil, message: error.reason) }
        return try BoardDescription.parse(text, fileName: path, expectedId: id)
    }

    /// Loads and checks every board file, in id order; the first broken one throws.
    public func loadAll() throws(ConfigError) -> [BoardDescription] {
        var boards: [BoardDescription] = []
        for id in ids() { boards.append(try load(id)) }
        return boards
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaFileSystem

/// Locates shared test vectors and project files for tests.
public enum TestData {
    /// The repository root (three levels above this file: Tests/ElaTestSupport/TestData.swift).
    public static let repoRoot: String = {
        var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// `$ELA_TESTDATA`, or `<repo>/../shared/testdata`.
    public static let root: String = {
        if let env = getenv("ELA_TESTDATA"), let s = String(validatingCString: env), !s.isEmpty { return s }
        return repoRoot + "/../shared/testdata"
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    /// Reads a whole file; nil if it can't be opened.
    public static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return out
    }

    public static func readString(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Files below `dir` (recursive), relative paths, sorted.
    public static func listFiles(_ dir: String) -> [String] {
        var result: [String] = []
        func walk(_ rel: String) {
            let full = rel.isEmpty ? dir : dir + "/" + rel
            guard let d = opendir(full) else { return }
            defer { closedir(d) }
            while let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let childRel = rel.isEmpty ? name : rel + "/" + name
                var st = stat()
                if stat(dir + "/" + childRel, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                    walk(childRel)
                } else {
                    result.append(childRel)
                }
            }
        }
        walk("")
        return result.sorted()
    }
}

/// A unique temporary directory, removed (recursively) by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "ela-test", in base: String = "/tmp") {
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = p.map { String(cString: $0) } ?? "\(base)/\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if p == nil { mkdir(path, 0o700) }
    }

    public func remove() {
        _ = TemporaryDirectory.removeTree(path)
    }

    @discardableResult
    public static func removeTree(_ path: String) -> Bool { FileSystem.removeTree(path) }

    public func write(_ name: String, _ contents: String) -> String {
        let p = path + "/" + name
        if let f = fopen(p, "wb") {
            _ = Array(contents.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            fclose(f)
        }
        return p
    }
}

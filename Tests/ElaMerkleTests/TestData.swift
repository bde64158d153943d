#if canImport(Glibc)
    import Glibc
#endif

/// Locates and reads the shared test vectors: `$ELA_TESTDATA`, else `<repo root>/../shared/testdata`
/// (repo root = 3 levels above this file: Tests/ElaMerkleTests/TestData.swift).
enum TestData {
    static var root: String {
        if let value = getenv("ELA_TESTDATA"), case let path = String(cString: value), !path.isEmpty { return path }
        var components = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(3)
        return components.joined(separator: "/") + "/../shared/testdata"
    }

    struct ReadError: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "cannot read test vector \(path) (set ELA_TESTDATA to the shared testdata directory)"
        }
    }

    /// The bytes of `relativePath` under the test data root.
    static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = root + "/" + relativePath
        guard let file = fopen(path, "rb") else { throw ReadError(path: path) }
        defer { fclose(file) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            result += chunk[0..<count]
        }
        return result
    }

    /// The UTF-8 text of `relativePath`.
    static func text(_ relativePath: String) throws -> String {
        String(decoding: try bytes(relativePath), as: UTF8.self)
    }

    /// Names of the regular files directly in `relativeDirectory`, sorted (empty if it does not exist).
    static func fileNames(in relativeDirectory: String) -> [String] {
        guard let dir = opendir(root + "/" + relativeDirectory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}

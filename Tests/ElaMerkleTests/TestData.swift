#if canImport(Glibc)
    import Glibc
#endif
import ElaTestSupport

/// Reads the shared test vectors (located by `ElaTestSupport.TestData`: `$ELA_TESTDATA`, else `../shared/testdata`)
/// (repo root = 3 levels above this file: Tests/ElaMerkleTests/TestData.swift).
enum TestData {
    static var root: String { ElaTestSupport.TestData.root }

    struct ReadError: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "cannot read test vector \(path) (set ELA_TESTDATA to the shared testdata directory)"
        }
    }

    /// The bytes of `relativePath` under the test data root.
    static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = root + "/" + relativePath
        guard let bytes = ElaTestSupport.TestData.read(path) else { throw ReadError(path: path) }
        return bytes
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

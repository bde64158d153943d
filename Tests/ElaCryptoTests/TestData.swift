#if canImport(Glibc)
import Glibc
#endif
import ElaTestSupport

/// Reads the shared test vectors (located by `ElaTestSupport.TestData`: `$ELA_TESTDATA`, else `../shared/testdata`)
/// (repo root = 3 levels above this file: Tests/ElaCryptoTests/TestData.swift).
enum TestData {
    static var root: String { ElaTestSupport.TestData.root }

    struct ReadError: Error, CustomStringConvertible {
        let path: String
        var description: String { "cannot read test vector \(path) (set ELA_TESTDATA to the shared testdata directory)" }
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
}

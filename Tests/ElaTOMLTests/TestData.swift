#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import ElaTestSupport

/// Locates the shared test vectors: `$ELA_TESTDATA`, else `<repo root>/../shared/testdata`.
enum TestData {
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var description: String { "cannot read \(path)" }
    }

    static var root: String { ElaTestSupport.TestData.root }

    static func path(_ relative: String) -> String { root + "/" + relative }

    /// The whole file at `relative` (below the testdata root) as bytes.
    static func bytes(_ relative: String) throws -> [UInt8] {
        let full = path(relative)
        guard let bytes = ElaTestSupport.TestData.read(full) else { throw ReadError(path: full) }
        return bytes
    }

    /// The file at `relative` as text (UTF-8, repaired if invalid).
    static func text(_ relative: String) throws -> String {
        String(decoding: try bytes(relative), as: UTF8.self)
    }
}

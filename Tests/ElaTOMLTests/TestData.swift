#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Locates the shared test vectors: `$ELA_TESTDATA`, else `<repo root>/../shared/testdata`.
enum TestData {
    struct ReadError: Error, CustomStringConvertible {
        var path: String
        var description: String { "cannot read \(path)" }
    }

    static var root: String {
        if let override = getenv("ELA_TESTDATA") { return String(cString: override) }
        // #filePath is <repo root>/Tests/ElaTOMLTests/TestData.swift.
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/../shared/testdata"
    }

    static func path(_ relative: String) -> String { root + "/" + relative }

    /// The whole file at `relative` (below the testdata root) as bytes.
    static func bytes(_ relative: String) throws -> [UInt8] {
        let full = path(relative)
        guard let file = fopen(full, "rb") else { throw ReadError(path: full) }
        defer { fclose(file) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        guard ferror(file) == 0 else { throw ReadError(path: full) }
        return result
    }

    /// The file at `relative` as text (UTF-8, repaired if invalid).
    static func text(_ relative: String) throws -> String {
        String(decoding: try bytes(relative), as: UTF8.self)
    }
}

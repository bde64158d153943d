import ElaTOML
import ElaTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The official toml-test corpus (TOML 1.0.0 file list): every valid file must decode to its JSON,
/// every invalid file must be rejected with a TOMLError.
@Suite(.ownThread) struct CorpusTests {
    static func corpusFiles() throws -> [String] {
        try TestData.text("toml-test/files-toml-1.0.0").split(separator: "\n").map(String.init)
    }

    @Test func everyValidFileDecodesToItsJSON() throws {
        let files = try Self.corpusFiles().filter { $0.hasPrefix("valid/") && $0.hasSuffix(".toml") }
        var failures: [String] = []
        for file in files {
            let base = String(file.dropLast(".toml".count))
            do {
                let table = try TOML.parse(bytes: TestData.bytes("toml-test/" + file))
                let expected = try MiniJSON.parse(TestData.bytes("toml-test/" + base + ".json"))
                if let difference = TaggedJSONComparison.difference(.table(table), expected) {
                    failures.append("\(file): \(difference)")
                }
            } catch {
                failures.append("\(file): \(error)")
            }
        }
        print("toml-test valid: \(files.count - failures.count)/\(files.count) passed")
        #expect(files.count > 200)
        #expect(failures.isEmpty, "\(failures.count) valid files failed:\n\(failures.joined(separator: "\n"))")
    }

    @Test func everyInvalidFileIsRejected() throws {
        let files = try Self.corpusFiles().filter { $0.hasPrefix("invalid/") && $0.hasSuffix(".toml") }
        var accepted: [String] = []
        let verbose = getenv("ELA_TOML_VERBOSE") != nil
        for file in files {
            let bytes = try TestData.bytes("toml-test/" + file)
            do throws(TOMLError) {
                let table = try TOML.parse(bytes: bytes)
                accepted.append("\(file): accepted, decoded \(table.keys)")
            } catch {
                // Rejected as required; the message must say something.
                if verbose { print("\(file): \(error)") }
                if error.message.isEmpty { accepted.append("\(file): rejected with an empty message") }
            }
        }
        print("toml-test invalid: \(files.count - accepted.count)/\(files.count) rejected")
        #expect(files.count > 400)
        #expect(accepted.isEmpty, "\(accepted.count) invalid files accepted:\n\(accepted.joined(separator: "\n"))")
    }
}

internal import ElaTOML

/// Parses TOML text and decodes it into `T`, mapping every failure to a `ConfigError` that names file, line and key.
/// Returns the table too, so callers can point their own validation errors at the right line.
/// `overrides` ("section.key" to a TOML value's text, from `elactl config set`) replace the file's values.
func decodeTOMLFile<T: Decodable>(
    _ type: T.Type, _ text: String, fileName: String, overrides: [String: String] = [:]
) throws(ConfigError) -> (T, TOMLTable) {
    var table: TOMLTable
    do { table = try TOML.parse(text) } catch {
        throw ConfigError(file: fileName, line: error.position.line, key: nil, message: error.message)
    }
    for (key, valueText) in overrides.sorted(by: { $0.key < $1.key }) {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, let value = ConfigOverrides.value(valueText) else {
            throw ConfigError(file: ConfigOverrides.origin, line: nil, key: key, message: "'\(valueText)' is not a TOML value")
        }
        var section = table[parts[0]]?.tableValue ?? TOMLTable()
        section.set(value, for: parts[1])
        table.set(.table(section), for: parts[0])
    }
    do {
        return (try TOMLDecoder(rejectUnknownKeys: true, fileName: fileName).decode(T.self, from: table), table)
    } catch let e as TOMLDecodingError {
        if overrides[e.codingPath] != nil { throw ConfigError(file: ConfigOverrides.origin, line: nil, key: e.codingPath, message: e.message) }
        throw ConfigError(file: fileName, line: e.line, key: e.codingPath.isEmpty ? nil : e.codingPath, message: e.message)
    } catch {
        throw ConfigError(file: fileName, line: nil, key: nil, message: "\(error)")
    }
}

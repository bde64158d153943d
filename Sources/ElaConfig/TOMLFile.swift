internal import ElaTOML

/// Parses TOML text and decodes it into `T`, mapping every failure to a `ConfigError` that names file, line and key.
/// Returns the table too, so callers can point their own validation errors at the right line.
func decodeTOMLFile<T: Decodable>(_ type: T.Type, _ text: String, fileName: String) throws(ConfigError) -> (T, TOMLTable) {
    let table: TOMLTable
    do { table = try TOML.parse(text) } catch {
        throw ConfigError(file: fileName, line: error.position.line, key: nil, message: error.message)
    }
    do {
        return (try TOMLDecoder(rejectUnknownKeys: true, fileName: fileName).decode(T.self, from: table), table)
    } catch let e as TOMLDecodingError {
        throw ConfigError(file: fileName, line: e.line, key: e.codingPath.isEmpty ? nil : e.codingPath, message: e.message)
    } catch {
        throw ConfigError(file: fileName, line: nil, key: nil, message: "\(error)")
    }
}

/// Decodes `Decodable` types (config structs, board files, plugin manifests) from TOML.
///
/// Supports String, Bool, all fixed-width integers (range-checked), Double/Float (integers are accepted
/// where exact), arrays, nested structs, Optionals (absent key = nil), `[String: V]` dictionaries,
/// String-raw-value enums, and `TOMLValue`/`TOMLTable`/date-time types for free-form parts.
/// Errors are `TOMLDecodingError`s naming the key path and its line.
public struct TOMLDecoder: Sendable {
    /// Report a key present in the document that the type never asked for (typos in config files).
    public var rejectUnknownKeys: Bool
    /// File name used in error descriptions (`agent.toml:12: ...`).
    public var fileName: String?

    public init(rejectUnknownKeys: Bool = true, fileName: String? = nil) {
        self.rejectUnknownKeys = rejectUnknownKeys
        self.fileName = fileName
    }

    /// Parses `text` and decodes `type` from its root table.
    ///
    /// Throws `TOMLDecodingError` (kind `.syntax` for invalid TOML); errors thrown by a type's own
    /// `init(from:)` that are not `DecodingError`s pass through unchanged.
    public func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: try parsed { () throws(TOMLError) in try TOML.parse(text) })
    }

    /// Parses UTF-8 `bytes` and decodes `type` from the root table.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try parsed { () throws(TOMLError) in try TOML.parse(bytes: bytes) })
    }

    /// Decodes `type` from an already parsed table.
    public func decode<T: Decodable>(_ type: T.Type, from table: TOMLTable) throws -> T {
        let state = DecodingState(root: table, fileName: fileName)
        let decoder = TOMLValueDecoder(value: .table(table), codingPath: [], state: state)
        let result: T
        do {
            result = try decoder.unbox(T.self)
        } catch let error as DecodingError {
            throw translate(error, state: state)
        }
        if rejectUnknownKeys, let unused = state.firstUnusedKey() {
            throw TOMLDecodingError(
                kind: .unknownKey, codingPath: unused.path, position: unused.position,
                message: state.unknownKeyMessage(unused.name, inTable: unused.table), fileName: fileName)
        }
        return result
    }

    private func parsed(_ parse: () throws(TOMLError) -> TOMLTable) throws(TOMLDecodingError) -> TOMLTable {
        do {
            return try parse()
        } catch {
            throw TOMLDecodingError(
                kind: .syntax, codingPath: "", position: error.position, message: error.message, fileName: fileName)
        }
    }

    /// Errors thrown by Decodable implementations themselves (e.g. an enum with no case for a raw value).
    private func translate(_ error: DecodingError, state: DecodingState) -> TOMLDecodingError {
        switch error {
        case .typeMismatch(let type, let context):
            return state.error(.typeMismatch, at: context.codingPath, "expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return state.error(.missingKey, at: context.codingPath, "missing value of type \(type)")
        case .keyNotFound(let key, let context):
            return state.error(.missingKey, at: context.codingPath + [key], "missing required key")
        case .dataCorrupted(let context):
            return state.error(.invalidValue, at: context.codingPath, context.debugDescription)
        @unknown default:
            return state.error(.invalidValue, at: [], "\(error)")
        }
    }
}

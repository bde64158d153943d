/// Why decoding a TOML document into a `Decodable` type failed, naming the key and its line.
///
/// Described as `file:line: key.path: message`, e.g. `agent.toml:12: agent.port: expected an integer, found a string`.
public struct TOMLDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Kind: Sendable, Equatable {
        /// The document is not valid TOML (`position` is where the parser stopped).
        case syntax
        /// The value has the wrong TOML type (a string where an integer is expected, ...).
        case typeMismatch
        /// The value has the right type but is not acceptable (out of range, unknown enum case, ...).
        case invalidValue
        /// A required key is absent.
        case missingKey
        /// The document has a key the type does not use (when `rejectUnknownKeys` is on).
        case unknownKey
    }

    /// What kind of problem it is.
    public var kind: Kind
    /// Dotted key path, with `[i]` for array elements: `agent.log_level`, `peers[1].host`; empty for the document.
    public var codingPath: String
    /// Where the key (or, for a missing key, its nearest existing parent) is defined, when known.
    public var position: TOMLPosition?
    /// What is wrong.
    public var message: String
    /// The file name given to the decoder, for the description.
    public var fileName: String?

    /// Creates an error; `codingPath` is the dotted key path (see `codingPath`).
    public init(
        kind: Kind, codingPath: String, position: TOMLPosition?, message: String, fileName: String? = nil
    ) {
        self.kind = kind
        self.codingPath = codingPath
        self.position = position
        self.message = message
        self.fileName = fileName
    }

    /// The 1-based line of the key, when known.
    public var line: Int? { position?.line }

    /// `file:line: key.path: message` (parts that are unknown are left out; syntax errors add the column).
    public var description: String {
        var location = fileName ?? ""
        if let position {
            let place = kind == .syntax ? "\(position.line):\(position.column)" : "\(position.line)"
            location += location.isEmpty ? "line \(place)" : ":\(place)"
        }
        var parts: [String] = []
        if !location.isEmpty { parts.append(location) }
        if !codingPath.isEmpty { parts.append(codingPath) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

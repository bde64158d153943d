/// Free-form parts of a document can be decoded as raw TOML values with `TOMLDecoder`
/// (e.g. a plugin's own settings table). Their contents count as used for unknown-key detection.
extension TOMLValue: Decodable {
    public init(from decoder: any Decoder) throws {
        self = try TOMLValueDecoder.raw(from: decoder, as: "TOMLValue")
    }
}

extension TOMLTable: Decodable {
    public init(from decoder: any Decoder) throws {
        guard case .table(let table) = try TOMLValueDecoder.raw(from: decoder, as: "TOMLTable") else {
            throw TOMLValueDecoder.mismatch(decoder, "a table")
        }
        self = table
    }
}

extension TOMLDateTime: Decodable {
    /// Accepts an offset or a local date-time.
    public init(from decoder: any Decoder) throws {
        switch try TOMLValueDecoder.raw(from: decoder, as: "TOMLDateTime") {
        case .offsetDateTime(let dateTime), .localDateTime(let dateTime): self = dateTime
        default: throw TOMLValueDecoder.mismatch(decoder, "a date-time")
        }
    }
}

extension TOMLDate: Decodable {
    public init(from decoder: any Decoder) throws {
        guard case .localDate(let date) = try TOMLValueDecoder.raw(from: decoder, as: "TOMLDate") else {
            throw TOMLValueDecoder.mismatch(decoder, "a local date")
        }
        self = date
    }
}

extension TOMLTime: Decodable {
    public init(from decoder: any Decoder) throws {
        guard case .localTime(let time) = try TOMLValueDecoder.raw(from: decoder, as: "TOMLTime") else {
            throw TOMLValueDecoder.mismatch(decoder, "a local time")
        }
        self = time
    }
}

extension TOMLValueDecoder {
    /// The raw value behind a `TOMLDecoder`'s decoder, marked as used as a whole.
    static func raw(from decoder: any Decoder, as type: String) throws -> TOMLValue {
        guard let toml = decoder as? TOMLValueDecoder else { throw notTOML(decoder, type) }
        toml.state.markWhole(toml.codingPath)
        return toml.value
    }

    static func mismatch(_ decoder: any Decoder, _ expected: String) -> any Error {
        guard let toml = decoder as? TOMLValueDecoder else { return notTOML(decoder, expected) }
        return toml.mismatch(expected)
    }

    static func notTOML(_ decoder: any Decoder, _ type: String) -> DecodingError {
        DecodingError.typeMismatch(
            TOMLValue.self,
            DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "\(type) can only be decoded by TOMLDecoder"))
    }
}

/// The `Decoder` for one TOML value; also its own single-value container.
struct TOMLValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: TOMLValue
    let codingPath: [any CodingKey]
    let state: DecodingState

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .table(let table) = value else { throw mismatch("a table") }
        return KeyedDecodingContainer(KeyedTableContainer<Key>(table: table, codingPath: codingPath, state: state))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch("an array") }
        return UnkeyedArrayContainer(elements: elements, codingPath: codingPath, state: state)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: - Conversions

    /// Decodes `type` from this value: scalars directly, anything else through its `init(from:)`.
    func unbox<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = try scalar(type) { return scalar }
        return try T(from: self)
    }

    /// The value as a standard scalar type, or nil when `T` is not one.
    private func scalar<T>(_ type: T.Type) throws -> T? {
        switch type {
        case is String.Type: return try string() as? T
        case is Bool.Type: return try bool() as? T
        case is Double.Type: return try double() as? T
        case is Float.Type: return try float() as? T
        case is Int.Type: return try integer(Int.self) as? T
        case is Int8.Type: return try integer(Int8.self) as? T
        case is Int16.Type: return try integer(Int16.self) as? T
        case is Int32.Type: return try integer(Int32.self) as? T
        case is Int64.Type: return try integer(Int64.self) as? T
        case is UInt.Type: return try integer(UInt.self) as? T
        case is UInt8.Type: return try integer(UInt8.self) as? T
        case is UInt16.Type: return try integer(UInt16.self) as? T
        case is UInt32.Type: return try integer(UInt32.self) as? T
        case is UInt64.Type: return try integer(UInt64.self) as? T
        default: return nil
        }
    }

    func string() throws -> String {
        guard case .string(let string) = value else { throw mismatch("a string") }
        return string
    }

    func bool() throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch("a boolean (true or false)") }
        return bool
    }

    func double() throws -> Double {
        switch value {
        case .float(let float): return float
        case .integer(let integer):
            guard let exact = Double(exactly: integer) else {
                throw state.error(.invalidValue, at: codingPath, "\(integer) cannot be represented exactly as a float")
            }
            return exact
        default: throw mismatch("a number")
        }
    }

    /// Nearest Float; only values beyond Float's range are refused.
    func float() throws -> Float {
        let double = try double()
        let float = Float(double)
        guard float.isFinite || !double.isFinite else {
            throw state.error(.invalidValue, at: codingPath, "\(double) is out of range for a 32-bit float")
        }
        return float
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard case .integer(let integer) = value else { throw mismatch("an integer") }
        guard let exact = I(exactly: integer) else {
            throw state.error(.invalidValue, at: codingPath, "\(integer) is out of range for \(I.self) (\(I.min)...\(I.max))")
        }
        return exact
    }

    /// A type mismatch error: "expected X, found a string".
    func mismatch(_ expected: String) -> TOMLDecodingError {
        state.error(.typeMismatch, at: codingPath, "expected \(expected), found \(value.typeDescription)")
    }

    // MARK: - SingleValueDecodingContainer

    /// TOML has no null: a present value is never nil (absent keys decode as nil in keyed containers).
    func decodeNil() -> Bool { false }
    func decode(_ type: Bool.Type) throws -> Bool { try bool() }
    func decode(_ type: String.Type) throws -> String { try string() }
    func decode(_ type: Double.Type) throws -> Double { try double() }
    func decode(_ type: Float.Type) throws -> Float { try float() }
    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(type) }
}

/// Keyed access to a TOML table; records every key the type asks for (for unknown-key detection).
struct KeyedTableContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let table: TOMLTable
    let codingPath: [any CodingKey]
    let state: DecodingState

    var allKeys: [Key] { table.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool {
        state.markAsked(key.stringValue, in: codingPath)
        return table[key.stringValue] != nil
    }

    /// An absent key is nil (TOML has no null value).
    func decodeNil(forKey key: Key) -> Bool {
        state.markAsked(key.stringValue, in: codingPath)
        return table[key.stringValue] == nil
    }

    /// The decoder for the value at `key`, marking the key as used.
    private func child(_ key: any CodingKey) throws -> TOMLValueDecoder {
        let path = codingPath + [key]
        state.markUsed(path)
        state.markAsked(key.stringValue, in: codingPath)
        guard let value = table[key.stringValue] else {
            throw state.error(.missingKey, at: path, "missing required key")
        }
        return TOMLValueDecoder(value: value, codingPath: path, state: state)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).bool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).string() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).double() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).float() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).integer(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).integer(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).integer(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).integer(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).integer(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).integer(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).integer(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).integer(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).integer(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).integer(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).unbox(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { try child(NamedKey("super")) }

    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

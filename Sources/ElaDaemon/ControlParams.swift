import ElaControl
import ElaJSON

/// Typed reads of a control request's optional params. A key present (not null) with the wrong type is an
/// `invalidParams` error naming it: a mistyped expiry must not become "no expiry", nor a mistyped filter "all".
extension JSONObject {
    func optionalString(_ key: String) throws(ControlError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw Self.wrongType(key, "a string")
        }
    }

    func optionalInt64(_ key: String) throws(ControlError) -> Int64? {
        switch self[key] {
        case nil, .null?: return nil
        case .number(let n)?:
            guard let v = n.int64Value else { throw Self.wrongType(key, "a whole number") }
            return v
        default: throw Self.wrongType(key, "a whole number")
        }
    }

    func optionalBool(_ key: String) throws(ControlError) -> Bool? {
        switch self[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw Self.wrongType(key, "true or false")
        }
    }

    func optionalStrings(_ key: String) throws(ControlError) -> [String]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            let strings = items.compactMap(\.stringValue)
            guard strings.count == items.count else { throw Self.wrongType(key, "an array of strings") }
            return strings
        default: throw Self.wrongType(key, "an array of strings")
        }
    }

    private static func wrongType(_ key: String, _ expected: String) -> ControlError {
        ControlError(code: ControlError.invalidParams, message: "params.\(key) must be \(expected)")
    }
}

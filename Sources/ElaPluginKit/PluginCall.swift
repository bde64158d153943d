/// One incoming request: the method name and its params, with typed accessors whose errors name the key
/// (`gpio.write: "value" must be an integer, found a string`), so handlers rarely format errors themselves.
public struct PluginCall: Sendable {
    public let method: String
    public let params: JSONObject

    public init(method: String, params: JSONObject = JSONObject()) {
        self.method = method
        self.params = params
    }

    /// The value under `key`; nil when absent or JSON null.
    public func value(_ key: String) -> JSONValue? {
        guard let v = params[key], !v.isNull else { return nil }
        return v
    }

    public func string(_ key: String) throws(PluginError) -> String {
        guard let s = try optionalString(key) else { throw missing(key, "a string") }
        return s
    }

    public func optionalString(_ key: String) throws(PluginError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw wrongType(key, "a string", v) }
        return s
    }

    public func int(_ key: String) throws(PluginError) -> Int {
        guard let i = try optionalInt(key) else { throw missing(key, "an integer") }
        return i
    }

    public func optionalInt(_ key: String) throws(PluginError) -> Int? {
        guard let v = value(key) else { return nil }
        guard let n = v.numberValue else { throw wrongType(key, "an integer", v) }
        guard let i = n.int64Value.flatMap({ Int(exactly: $0) }) else {
            throw PluginError.invalidParams("\(method): \"\(key)\" must be an integer, found \(n.text)")
        }
        return i
    }

    public func bool(_ key: String) throws(PluginError) -> Bool {
        guard let b = try optionalBool(key) else { throw missing(key, "true or false") }
        return b
    }

    public func optionalBool(_ key: String) throws(PluginError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw wrongType(key, "true or false", v) }
        return b
    }

    public func double(_ key: String) throws(PluginError) -> Double {
        guard let d = try optionalDouble(key) else { throw missing(key, "a number") }
        return d
    }

    public func optionalDouble(_ key: String) throws(PluginError) -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.numberValue?.doubleValue, d.isFinite else { throw wrongType(key, "a number", v) }
        return d
    }

    public func object(_ key: String) throws(PluginError) -> JSONObject {
        guard let o = try optionalObject(key) else { throw missing(key, "an object") }
        return o
    }

    public func optionalObject(_ key: String) throws(PluginError) -> JSONObject? {
        guard let v = value(key) else { return nil }
        guard let o = v.objectValue else { throw wrongType(key, "an object", v) }
        return o
    }

    public func array(_ key: String) throws(PluginError) -> [JSONValue] {
        guard let v = value(key) else { throw missing(key, "an array") }
        guard let a = v.arrayValue else { throw wrongType(key, "an array", v) }
        return a
    }

    private func missing(_ key: String, _ expected: String) -> PluginError {
        PluginError.invalidParams("\(method): missing \"\(key)\" (\(expected))")
    }

    private func wrongType(_ key: String, _ expected: String, _ found: JSONValue) -> PluginError {
        PluginError.invalidParams("\(method): \"\(key)\" must be \(expected), found \(found.kindName)")
    }
}

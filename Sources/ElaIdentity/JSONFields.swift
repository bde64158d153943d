internal import ElaJSON

/// Typed access to the members of a JSON object while decoding a DID object; every failure names the member.
struct JSONFields {
    let object: JSONObject
    var context: String  // e.g. "DID document", "credential did:elastos:...#email"

    init(_ value: JSONValue, context: String) throws(DIDError) {
        guard let obj = value.objectValue else {
            throw DIDError(.malformed, "\(context): expected a JSON object, found \(value.kindName)")
        }
        self.object = obj
        self.context = context
    }

    func fail(_ message: String) -> DIDError { DIDError(.malformed, "\(context): \(message)") }

    func has(_ key: String) -> Bool { object[key] != nil }

    func string(_ key: String) throws(DIDError) -> String {
        guard let v = object[key] else { throw fail("missing '\(key)'") }
        guard let s = v.stringValue else { throw fail("'\(key)' must be a string, found \(v.kindName)") }
        return s
    }

    func optionalString(_ key: String) throws(DIDError) -> String? {
        guard let v = object[key], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw fail("'\(key)' must be a string, found \(v.kindName)") }
        return s
    }

    func date(_ key: String) throws(DIDError) -> DIDDate {
        do { return try DIDDate(try string(key)) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func optionalDate(_ key: String) throws(DIDError) -> DIDDate? {
        guard let s = try optionalString(key) else { return nil }
        do { return try DIDDate(s) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func did(_ key: String) throws(DIDError) -> DID {
        do { return try DID(try string(key)) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func optionalDID(_ key: String) throws(DIDError) -> DID? {
        guard let s = try optionalString(key) else { return nil }
        do { return try DID(s) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func url(_ key: String, base: DID?) throws(DIDError) -> DIDURL {
        do { return try DIDURL(try string(key), base: base) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func optionalURL(_ key: String, base: DID?) throws(DIDError) -> DIDURL? {
        guard let s = try optionalString(key) else { return nil }
        do { return try DIDURL(s, base: base) } catch { throw fail("'\(key)': \(error.message)") }
    }

    func optionalArray(_ key: String) throws(DIDError) -> [JSONValue]? {
        guard let v = object[key], !v.isNull else { return nil }
        guard let a = v.arrayValue else { throw fail("'\(key)' must be an array, found \(v.kindName)") }
        return a
    }

    /// A member that may be one string or an array of strings (`type`, `controller`).
    func stringOrStrings(_ key: String) throws(DIDError) -> [String]? {
        guard let v = object[key], !v.isNull else { return nil }
        if let s = v.stringValue { return [s] }
        guard let a = v.arrayValue else { throw fail("'\(key)' must be a string or an array, found \(v.kindName)") }
        var out: [String] = []
        for item in a {
            guard let s = item.stringValue else { throw fail("'\(key)' entries must be strings, found \(item.kindName)") }
            out.append(s)
        }
        return out
    }

    /// `@context`: nil when absent or empty (the SDKs omit an empty one from what they sign).
    func contextList() throws(DIDError) -> [String]? {
        guard let c = try stringOrStrings("@context"), !c.isEmpty else { return nil }
        return c
    }

    /// A member that may be one object or an array of objects (`proof`).
    func objectOrObjects(_ key: String) throws(DIDError) -> [JSONValue]? {
        guard let v = object[key], !v.isNull else { return nil }
        if v.objectValue != nil { return [v] }
        guard let a = v.arrayValue else { throw fail("'\(key)' must be an object or an array, found \(v.kindName)") }
        return a
    }
}

extension JSONObject {
    /// Appends `key: value` when value is non-nil (normalized forms omit absent members).
    mutating func put(_ key: String, _ value: JSONValue?) {
        if let value { self[key] = value }
    }
}

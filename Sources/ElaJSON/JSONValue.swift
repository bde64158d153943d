/// A JSON value that keeps what canonical signing needs: object member order as written and
/// the exact lexeme of every number (Jackson re-emits integers unchanged, so we must too).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var numberValue: JSONNumber? {
        if case .number(let n) = self { return n }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the kind of value, for error messages ("expected a string, found an array").
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

/// A JSON number kept as its source text; conversions are explicit.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number as written in the source (already validated against the JSON grammar).
    public let text: String

    /// Creates a number from text that the caller guarantees is a valid JSON number lexeme.
    init(validatedText: String) { self.text = validatedText }

    public init(_ value: Int64) { self.text = String(value) }
    public init(_ value: Int) { self.text = String(value) }
    /// Doubles are written the way Java's `Double.toString` writes them (what Jackson emits).
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        self.text = JavaDoubleFormat.string(value)
    }

    /// True when the lexeme has no fraction and no exponent.
    public var isInteger: Bool { !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) }
    public var int64Value: Int64? { isInteger ? Int64(text) : nil }
    public var doubleValue: Double? { Double(text) }
    public var description: String { text }
}

/// Object members in document order, with O(1) lookup. Duplicate names are rejected by the parser.
public struct JSONObject: Sendable, Hashable, Sequence {
    public private(set) var members: [(key: String, value: JSONValue)]
    /// Built only for large objects: a linear scan beats hashing for the handful of members DID objects have.
    private var index: [String: Int]?
    private static let indexThreshold = 16

    public init() {
        members = []
        index = nil
    }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex { $0.key == key }
    }

    private mutating func appendMember(_ key: String, _ value: JSONValue) {
        // At the second member, room for four: fewer regrowths of the arrays parsing spent much of its time on, while
        // a frame of many one-member objects (hostile input) still takes no more memory than before.
        if members.count == 1 && members.capacity < 4 { members.reserveCapacity(4) }
        members.append((key, value))
        if index != nil {
            index![key] = members.count - 1
        } else if members.count > Self.indexThreshold {
            var built: [String: Int] = [:]
            for (n, m) in members.enumerated() { built[m.key] = n }
            index = built
        }
    }

    public init(_ members: [(String, JSONValue)]) {
        self.init()
        for (k, v) in members { self[k] = v }
    }

    /// Members whose keys are known to be distinct (taken from another object), without looking each one up.
    init(uniqueMembers: [(key: String, value: JSONValue)]) {
        members = uniqueMembers
        index = nil
        if members.count > Self.indexThreshold {
            var built: [String: Int] = [:]
            for (n, m) in members.enumerated() { built[m.key] = n }
            index = built
        }
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            if let i = position(of: key) {
                if let newValue { members[i].value = newValue } else { remove(at: i) }
            } else if let newValue {
                appendMember(key, newValue)
            }
        }
    }

    /// Appends a member unless the key exists; false then (the parser rejects duplicate names).
    mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        if position(of: key) != nil { return false }
        appendMember(key, value)
        return true
    }

    private mutating func remove(at i: Int) {
        members.remove(at: i)
        if index != nil {
            var built: [String: Int] = [:]
            for (n, m) in members.enumerated() { built[m.key] = n }
            index = members.count > Self.indexThreshold ? built : nil
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && zip(lhs.members, rhs.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for m in members {
            hasher.combine(m.key)
            hasher.combine(m.value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}

/// `["pin": "LED0", "value": 1]` builds an object in the written order (a later duplicate key replaces the value).
extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }
}

public import ElaJSON

/// Limits on a call's params: param name to the values it may take (`pin` in `LED0`, `LED1`).
///
/// A call satisfies a constraint when the named param is a string, number or boolean whose text is in the set, or
/// a non-empty array all of whose items are. Numbers compare by their JSON text as sent (`1`, not `1.0`), booleans
/// as `true`/`false`. A missing param, `null`, an object, a nested array or an empty array does not satisfy it.
/// Every constraint must hold.
public struct GrantConstraints: Sendable, Hashable, CustomStringConvertible {
    public static let maxParams = 32
    public static let maxValuesPerParam = 256
    public static let maxNameLength = 64
    public static let maxValueLength = 256

    /// No constraints: any params.
    public static let none = GrantConstraints(validated: [:])

    /// Param name to allowed values (each set sorted, without duplicates).
    public let allowed: [String: [String]]

    public var isEmpty: Bool { allowed.isEmpty }

    private init(validated: [String: [String]]) { allowed = validated }

    /// Validates names (1-64 of `A-Z a-z 0-9 _ - .`) and values (1-256 per param, each at most 256 bytes).
    public init(_ allowed: [String: [String]]) throws(GrantConstraintsError) {
        guard allowed.count <= Self.maxParams else { throw .tooManyParams(allowed.count) }
        var checked: [String: [String]] = [:]
        for (name, values) in allowed {
            guard !name.isEmpty, name.utf8.count <= Self.maxNameLength, name.utf8.allSatisfy(Self.isNameByte) else {
                throw .invalidParamName(name)
            }
            guard !values.isEmpty else { throw .noValues(param: name) }
            guard values.count <= Self.maxValuesPerParam else { throw .tooManyValues(param: name, count: values.count) }
            if let long = values.first(where: { $0.utf8.count > Self.maxValueLength }) {
                throw .valueTooLong(param: name, value: String(long.prefix(32)) + "...")
            }
            checked[name] = Array(Set(values)).sorted()
        }
        self.allowed = checked
    }

    /// Decodes the JSON form: an object of arrays of strings, `{"pin":["LED0","LED1"]}`.
    public init(json: JSONValue) throws(GrantConstraintsError) {
        guard let object = json.objectValue else { throw .notAnObject(found: json.kindName) }
        var allowed: [String: [String]] = [:]
        for (name, value) in object {
            guard let items = value.arrayValue else { throw .notAnArray(param: name, found: value.kindName) }
            var values: [String] = []
            for item in items {
                guard let text = item.stringValue else { throw .notAString(param: name, found: item.kindName) }
                values.append(text)
            }
            allowed[name] = values
        }
        try self.init(allowed)
    }

    /// Decodes the stored JSON text.
    public init(jsonText: String) throws(GrantConstraintsError) {
        let value: JSONValue
        do { value = try JSONParser.parse(jsonText) } catch { throw .notJSON(error.description) }
        try self.init(json: value)
    }

    /// Parses the command-line form, one `name=v1,v2` per argument (`pin=LED0,LED1`).
    public init(arguments: [String]) throws(GrantConstraintsError) {
        var allowed: [String: [String]] = [:]
        for argument in arguments {
            guard let eq = argument.firstIndex(of: "=") else { throw .badArgument(argument) }
            let name = String(argument[..<eq])
            let values = argument[argument.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false)
                .map(String.init)
            guard !values.contains(where: \.isEmpty) else { throw .badArgument(argument) }
            allowed[name, default: []] += values
        }
        try self.init(allowed)
    }

    /// The JSON form, keys and values sorted.
    public var json: JSONValue {
        .object(JSONObject(sortedEntries.map { ($0.key, JSONValue.array($0.value.map(JSONValue.string))) }))
    }

    /// Compact JSON text (as stored): `{"pin":["LED0","LED1"]}`.
    public var jsonText: String { JSONWriter.compact(json) }

    /// `pin=LED0,LED1 value=0,1`, or `(none)`.
    public var description: String {
        allowed.isEmpty
            ? "(none)" : sortedEntries.map { "\($0.key)=\($0.value.joined(separator: ","))" }.joined(separator: " ")
    }

    private var sortedEntries: [(key: String, value: [String])] { allowed.sorted { $0.key < $1.key } }

    /// The first constraint (by param name) that `params` breaks, or nil when all hold.
    public func violation(by params: JSONObject) -> ConstraintViolation? {
        for (name, values) in sortedEntries {
            guard let param = params[name] else { return ConstraintViolation(param: name, problem: .missing) }
            if let items = param.arrayValue {
                guard !items.isEmpty else { return ConstraintViolation(param: name, problem: .emptyArray) }
                for item in items {
                    if let problem = Self.check(item, against: values) { return ConstraintViolation(param: name, problem: problem) }
                }
            } else if let problem = Self.check(param, against: values) {
                return ConstraintViolation(param: name, problem: problem)
            }
        }
        return nil
    }

    private static func check(_ value: JSONValue, against values: [String]) -> ConstraintViolation.Problem? {
        let text: String
        switch value {
        case .string(let s): text = s
        case .number(let n): text = n.text
        case .bool(let b): text = b ? "true" : "false"
        default: return .unsupportedType(value.kindName)
        }
        return values.contains(text) ? nil : .notAllowed(text)
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        CapabilityPattern.isNameByte(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")) || b == UInt8(ascii: ".")
    }
}

/// A constraint a call did not meet; its description is the gate's deny reason.
public struct ConstraintViolation: Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// The call has no param of that name.
        case missing
        /// The value (or one array item) is not in the allowed set.
        case notAllowed(String)
        /// `null`, an object, or an array inside the array.
        case unsupportedType(String)
        /// An empty array names nothing to check.
        case emptyArray
    }

    public let param: String
    public let problem: Problem

    public init(param: String, problem: Problem) {
        self.param = param
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .missing: "constraint \(param): param missing"
        case .notAllowed(let value): "constraint \(param): value \(Self.quoted(value)) not allowed"
        case .unsupportedType(let kind): "constraint \(param): \(kind) cannot be checked"
        case .emptyArray: "constraint \(param): empty array"
        }
    }

    /// The value in JSON quotes, cut short: it comes from the caller and ends up in logs.
    private static func quoted(_ value: String) -> String {
        JSONWriter.compact(.string(value.count > 64 ? String(value.prefix(64)) + "..." : value))
    }
}

/// Why constraints were rejected.
public enum GrantConstraintsError: Error, Sendable, Equatable, CustomStringConvertible {
    case tooManyParams(Int)
    case invalidParamName(String)
    case noValues(param: String)
    case tooManyValues(param: String, count: Int)
    case valueTooLong(param: String, value: String)
    case notJSON(String)
    case notAnObject(found: String)
    case notAnArray(param: String, found: String)
    case notAString(param: String, found: String)
    case badArgument(String)

    public var description: String {
        switch self {
        case .tooManyParams(let n): "\(n) constrained params; at most \(GrantConstraints.maxParams) are allowed"
        case .invalidParamName(let name):
            "invalid constraint param name '\(name)': use 1-\(GrantConstraints.maxNameLength) of A-Z a-z 0-9 _ - ."
        case .noValues(let param): "constraint \(param) allows no values; give at least one"
        case .tooManyValues(let param, let count):
            "constraint \(param) lists \(count) values; at most \(GrantConstraints.maxValuesPerParam) are allowed"
        case .valueTooLong(let param, let value):
            "constraint \(param): value '\(value)' is longer than \(GrantConstraints.maxValueLength) bytes"
        case .notJSON(let message): "constraints are not valid JSON: \(message)"
        case .notAnObject(let found): "constraints must be a JSON object of arrays of strings, found \(found)"
        case .notAnArray(let param, let found): "constraint \(param) must be an array of strings, found \(found)"
        case .notAString(let param, let found): "constraint \(param) values must be strings, found \(found)"
        case .badArgument(let argument): "invalid constraint '\(argument)': expected name=value[,value...]"
        }
    }
}

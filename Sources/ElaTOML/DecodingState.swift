internal import ElaSpelling

/// Shared by all containers of one `decode` call: the document, which keys were used, error building.
final class DecodingState {
    let root: TOMLTable
    let fileName: String?
    /// Formatted paths of keys the Decodable type asked for.
    private(set) var usedKeys: Set<String> = []
    /// Formatted paths of values taken whole (decoded as `TOMLValue` or `TOMLTable`): nothing below is unknown.
    private(set) var wholeValues: Set<String> = []
    /// Key names the type looked for in each table (formatted table path: names), present or not: the names an
    /// unknown key is compared with.
    private var askedKeys: [String: Set<String>] = [:]

    init(root: TOMLTable, fileName: String?) {
        self.root = root
        self.fileName = fileName
    }

    func markUsed(_ path: [any CodingKey]) { usedKeys.insert(Self.format(path)) }

    func markWhole(_ path: [any CodingKey]) { wholeValues.insert(Self.format(path)) }

    func markAsked(_ key: String, in table: [any CodingKey]) { askedKeys[Self.format(table), default: []].insert(key) }

    /// "unknown key", with the type's closest name for it, or the names it knows in that table when none is close.
    func unknownKeyMessage(_ key: String, inTable table: String) -> String {
        let known = askedKeys[table, default: []].sorted()
        guard !known.isEmpty else { return "unknown key (nothing is expected here)" }
        return "unknown key (\(Spelling.hint(for: key, among: known, kind: "keys here")))"
    }

    /// An error about the value at `path`, located at the deepest key of `path` found in the document.
    func error(_ kind: TOMLDecodingError.Kind, at path: [any CodingKey], _ message: String) -> TOMLDecodingError {
        TOMLDecodingError(
            kind: kind, codingPath: Self.format(path), position: position(of: path), message: message, fileName: fileName)
    }

    /// `agent.port`, `peers[1].host`, `"key with.dot"`.
    static func format(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if key is IndexKey, let index = key.intValue {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += KeyPart.quotedIfNeeded(key.stringValue)
            }
        }
        return text
    }

    /// Position of the deepest key of `path` present in the document.
    func position(of path: [any CodingKey]) -> TOMLPosition? {
        var value = TOMLValue.table(root)
        var found: TOMLPosition?
        for key in path {
            switch value {
            case .table(let table):
                guard let child = table[key.stringValue] else { return found }
                found = table.position(of: key.stringValue) ?? found
                value = child
            case .array(let elements):
                guard let index = key.intValue, elements.indices.contains(index) else { return found }
                value = elements[index]
            default:
                return found
            }
        }
        return found
    }

    /// The earliest key in the document that was never used, if any.
    func firstUnusedKey() -> UnusedKey? {
        var unused: [UnusedKey] = []
        collectUnused(in: .table(root), path: "", into: &unused)
        // Keys without a known position sort last; otherwise earliest line, then column.
        return unused.min { lhs, rhs in
            switch (lhs.position, rhs.position) {
            case (let left?, let right?): left < right
            case (.some, nil): true
            default: false
            }
        }
    }

    /// A key of the document that the type never asked for.
    struct UnusedKey {
        /// Its full formatted path.
        var path: String
        var position: TOMLPosition?
        /// Its own name, and the formatted path of the table holding it.
        var name: String
        var table: String
    }

    private func collectUnused(in value: TOMLValue, path: String, into unused: inout [UnusedKey]) {
        if wholeValues.contains(path) { return }
        switch value {
        case .table(let table):
            for key in table.keys {
                let childPath = path.isEmpty ? KeyPart.quotedIfNeeded(key) : path + "." + KeyPart.quotedIfNeeded(key)
                guard usedKeys.contains(childPath) else {
                    unused.append(UnusedKey(path: childPath, position: table.position(of: key), name: key, table: path))
                    continue
                }
                if let child = table[key] { collectUnused(in: child, path: childPath, into: &unused) }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                collectUnused(in: element, path: path + "[\(index)]", into: &unused)
            }
        default:
            return
        }
    }
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

/// A table key that is not one of the type's own `CodingKey`s (for `superDecoder`).
struct NamedKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

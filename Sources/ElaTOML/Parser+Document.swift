/// Document structure: lines, `[table]` and `[[array]]` headers, key/value pairs, and the rules on
/// which tables a header or dotted key may define or extend.
extension Parser {
    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        while true {
            skipWhitespace()
            let scalar = peek
            if scalar == Char.end { break }
            if try consumeNewline() { continue }
            if scalar == Char.hash {
                try skipComment()
                continue
            }
            if scalar == Char.openBracket {
                try parseHeader()
                try expectEndOfLine(after: "the table header")
            } else {
                try parseKeyValue(into: current, section: section)
                try expectEndOfLine(after: "the value")
            }
        }
        return root.freeze()
    }

    /// `[a.b]` or `[[a.b]]`: makes the named table the current one.
    mutating func parseHeader() throws(TOMLError) {
        index += 1
        let isArray = peek == Char.openBracket
        if isArray { index += 1 }
        skipWhitespace()
        let key = try parseKey()
        guard peek == Char.closeBracket else {
            throw error("expected ']' to close the table header, found \(Char.describe(peek))")
        }
        index += 1
        if isArray {
            guard peek == Char.closeBracket else {
                throw error("expected ']]' to close the array-of-tables header, found \(Char.describe(peek))")
            }
            index += 1
        }
        section += 1
        current = isArray ? try openArrayOfTables(key) : try openTable(key)
    }

    /// `key = value` (key possibly dotted) into `table`; `section` identifies the block the line is in.
    mutating func parseKeyValue(into table: TableNode, section: Int) throws(TOMLError) {
        let key = try parseKey()
        guard peek == Char.equals else {
            throw error("expected '=' after the key \(KeyPart.path(key)), found \(Char.describe(peek))")
        }
        index += 1
        skipWhitespace()
        let parent = try openDottedParent(of: key, in: table, section: section)
        guard let last = key.last else { throw error("expected a key") }
        if let existing = parent[last.name] {
            throw TOMLError(
                position: last.position,
                message: "duplicate key \(KeyPart.path(key)): already defined as \(existing.typeDescription)"
                    + where_(parent.position(of: last.name)))
        }
        let value = try parseValue(depth: parent.depth + 1)
        parent.insert(.value(value), for: last.name, at: last.position)
    }

    // MARK: - Table rules

    /// Walks or creates the tables of a `[header]`; the last one must not have been defined before.
    mutating func openTable(_ key: [KeyPart]) throws(TOMLError) -> TableNode {
        guard let last = key.last else { throw error("expected a key") }
        let parent = try openHeaderParents(key.dropLast())
        let path = KeyPart.path(key)
        switch parent[last.name] {
        case nil:
            let table = try makeTable(origin: .header, under: parent, at: last)
            parent.insert(.table(table), for: last.name, at: last.position)
            return table
        case .table(let table):
            guard table.origin == .implicit else {
                let how = table.origin == .header ? "by a header" : "by dotted keys"
                throw TOMLError(
                    position: last.position,
                    message: "table [\(path)] is already defined \(how)" + where_(parent.position(of: last.name)))
            }
            table.origin = .header
            parent.setPosition(last.position, for: last.name)
            return table
        case .arrayOfTables:
            throw TOMLError(
                position: last.position,
                message: "[\(path)] is already an array of tables" + where_(parent.position(of: last.name))
                    + "; use [[\(path)]] to add an element")
        case .value(let value):
            throw TOMLError(
                position: last.position,
                message: "cannot define table [\(path)]: it is already \(value.typeDescription)"
                    + where_(parent.position(of: last.name)))
        }
    }

    /// Walks or creates the tables of a `[[header]]` and appends a new table to the array it names.
    mutating func openArrayOfTables(_ key: [KeyPart]) throws(TOMLError) -> TableNode {
        guard let last = key.last else { throw error("expected a key") }
        let parent = try openHeaderParents(key.dropLast())
        let path = KeyPart.path(key)
        let element = try makeTable(origin: .header, under: parent, at: last)
        switch parent[last.name] {
        case nil:
            let array = ArrayOfTablesNode()
            array.append(element)
            parent.insert(.arrayOfTables(array), for: last.name, at: last.position)
        case .arrayOfTables(let array):
            array.append(element)
        case .some(let entry):
            throw TOMLError(
                position: last.position,
                message: "cannot define [[\(path)]]: it is already \(entry.typeDescription)"
                    + where_(parent.position(of: last.name)))
        }
        return element
    }

    /// Walks the parents named in a header, creating implicit tables; an array of tables
    /// stands for its last element.
    private mutating func openHeaderParents(_ key: ArraySlice<KeyPart>) throws(TOMLError) -> TableNode {
        var node = root
        for (offset, part) in zip(key.indices, key) {
            switch node[part.name] {
            case nil:
                let child = try makeTable(origin: .implicit, under: node, at: part)
                node.insert(.table(child), for: part.name, at: part.position)
                node = child
            case .table(let table):
                node = table
            case .arrayOfTables(let array):
                guard let element = array.tables.last else { throw error("empty array of tables") }
                node = element
            case .value(let value):
                throw TOMLError(
                    position: part.position,
                    message: "cannot use \(KeyPart.path(key[...offset])) as a table: it is already "
                        + value.typeDescription + where_(node.position(of: part.name)))
            }
        }
        return node
    }

    /// Walks or creates the tables named by all but the last part of a dotted key.
    /// Dotted keys may only extend tables they created themselves in the same section (TOML 1.0).
    mutating func openDottedParent(of key: [KeyPart], in table: TableNode, section: Int) throws(TOMLError) -> TableNode {
        var node = table
        for (offset, part) in key.dropLast().enumerated() {
            let path = KeyPart.path(key[...offset])
            switch node[part.name] {
            case nil:
                let child = try makeTable(origin: .dotted(section: section), under: node, at: part)
                node.insert(.table(child), for: part.name, at: part.position)
                node = child
            case .table(let child):
                switch child.origin {
                case .implicit:
                    child.origin = .dotted(section: section)
                case .dotted(let definedIn) where definedIn == section:
                    break
                case .dotted:
                    throw TOMLError(
                        position: part.position,
                        message: "cannot add to table \(path) with dotted keys: it was defined by dotted keys "
                            + "in another section" + where_(node.position(of: part.name)))
                case .header, .inline:
                    throw TOMLError(
                        position: part.position,
                        message: "cannot add to table \(path) with dotted keys: it is defined by a [header]"
                            + where_(node.position(of: part.name)))
                }
                node = child
            case .some(let entry):
                throw TOMLError(
                    position: part.position,
                    message: "cannot use \(path) as a table: it is already \(entry.typeDescription)"
                        + where_(node.position(of: part.name)))
            }
        }
        return node
    }

    /// A new table one level below `parent`, refusing to nest deeper than the limit.
    func makeTable(origin: TableNode.Origin, under parent: TableNode, at part: KeyPart) throws(TOMLError) -> TableNode {
        let depth = parent.depth + 1
        guard depth <= maximumDepth else {
            throw TOMLError(position: part.position, message: "tables nested deeper than \(maximumDepth) levels")
        }
        return TableNode(origin: origin, depth: depth)
    }

    /// " (line N)" when the earlier definition's position is known.
    func where_(_ position: TOMLPosition?) -> String {
        guard let position else { return "" }
        return " (line \(position.line))"
    }
}

internal import ElaTOML

/// A board described by `Boards/<id>.toml`: its GPIO chips and the pin names mapped to (chip label, line).
public struct BoardDescription: Sendable, Equatable {
    public struct Chip: Sendable, Equatable {
        public var label: String
        public var lines: Int
    }

    public struct Pin: Sendable, Equatable {
        public var name: String
        public var chip: String
        public var line: Int

        public init(name: String, chip: String, line: Int) {
            self.name = name
            self.chip = chip
            self.line = line
        }
    }

    public var id: String
    public var name: String
    public var description: String
    public var defaultPlugins: [String]
    public var chips: [Chip]
    /// Sorted by name.
    public var pins: [Pin]

    /// Parses and checks a board file: id matches `expectedId` (the file name), pins name declared chips,
    /// lines exist, no line is used twice.
    public static func parse(_ text: String, fileName: String, expectedId: String? = nil) throws(ConfigError) -> BoardDescription {
        let (file, table) = try decodeTOMLFile(BoardFile.self, text, fileName: fileName)
        func fail(_ key: String, _ message: String, line: Int? = nil) -> ConfigError {
            ConfigError(file: fileName, line: line ?? table.position(of: key)?.line, key: key, message: message)
        }
        guard AgentConfig.isValidBoardId(file.id) else { throw fail("id", "'\(file.id)' is not a board id (a-z, 0-9, '-')") }
        if let expectedId, expectedId != file.id { throw fail("id", "'\(file.id)' does not match the file name '\(expectedId)'") }
        var chips: [Chip] = []
        for (i, c) in (file.gpiochip ?? []).enumerated() {
            guard !c.label.isEmpty, c.lines > 0, c.lines <= 1024 else {
                throw fail("gpiochip[\(i)]", "needs a label and 1...1024 lines")
            }
            guard !chips.contains(where: { $0.label == c.label }) else { throw fail("gpiochip[\(i)].label", "duplicate chip '\(c.label)'") }
            chips.append(Chip(label: c.label, lines: c.lines))
        }
        var pins: [Pin] = []
        let pinTable = table["pins"]?.tableValue
        for (name, p) in (file.pins ?? [:]).sorted(by: { $0.key < $1.key }) {
            let line = pinTable?.position(of: name)?.line
            guard let chip = chips.first(where: { $0.label == p.chip }) else {
                throw fail("pins.\(name)", "chip '\(p.chip)' is not declared in [[gpiochip]]", line: line)
            }
            guard (0..<chip.lines).contains(p.line) else {
                throw fail("pins.\(name)", "line \(p.line) does not exist on '\(chip.label)' (0...\(chip.lines - 1))", line: line)
            }
            if let other = pins.first(where: { $0.chip == p.chip && $0.line == p.line }) {
                throw fail("pins.\(name)", "line \(p.line) of '\(p.chip)' is already pin \(other.name)", line: line)
            }
            pins.append(Pin(name: name, chip: p.chip, line: p.line))
        }
        return BoardDescription(
            id: file.id, name: file.name, description: file.description ?? "", defaultPlugins: file.default_plugins ?? [],
            chips: chips, pins: pins)
    }
}

struct BoardFile: Decodable {
    struct Chip: Decodable {
        var label: String
        var lines: Int
    }
    struct Pin: Decodable {
        var chip: String
        var line: Int
    }
    var id: String
    var name: String
    var description: String?
    var default_plugins: [String]?
    var gpiochip: [Chip]?
    var pins: [String: Pin]?
}

import ElaGate
import ElaTestSupport
import Testing

@Suite(.ownThread) struct CapabilityPatternTests {
    static let table: [(pattern: String, capability: String, matches: Bool)] = [
        ("gpio.write", "gpio.write", true),
        ("gpio.write", "gpio.read", false),
        ("gpio.write", "gpio.writer", false),
        ("gpio.write", "gpio.write.x", false),
        ("gpio.*", "gpio.write", true),
        ("gpio.*", "gpio.read", true),
        ("gpio.*", "gpio.x.y", true),
        ("gpio.*", "gpio", false),
        ("gpio.*", "gpio.", false),
        ("gpio.*", "gpiox.write", false),
        ("gpio.*", "sensors.read", false),
        ("*", "gpio.write", true),
        ("*", "sensors.read", true),
        ("a.b.*", "a.b.c", true),
        ("a.b.*", "a.bc", false),
    ]

    @Test(arguments: table) func matching(_ row: (pattern: String, capability: String, matches: Bool)) throws {
        let pattern = try CapabilityPattern(row.pattern)
        #expect(pattern.matches(row.capability) == row.matches, "\(row.pattern) vs \(row.capability)")
    }

    static let invalid: [(String, CapabilityPatternError.Kind)] = [
        ("", .empty),
        ("gpio.", .emptySegment(offset: 5)),
        (".gpio", .emptySegment(offset: 0)),
        ("gpio..write", .emptySegment(offset: 5)),
        ("gp*", .misplacedWildcard(offset: 2)),
        ("*.write", .misplacedWildcard(offset: 0)),
        ("gpio.*.x", .misplacedWildcard(offset: 5)),
        ("gpio.**", .misplacedWildcard(offset: 5)),
        ("**", .misplacedWildcard(offset: 0)),
        ("GPIO.write", .invalidCharacter("G", offset: 0)),
        ("gpio write", .invalidCharacter(" ", offset: 4)),
        ("gpio.wr\u{e9}te", .invalidCharacter("\u{e9}", offset: 7)),
        (String(repeating: "a", count: 129), .tooLong(129)),
    ]

    @Test(arguments: invalid) func validation(_ row: (String, CapabilityPatternError.Kind)) {
        #expect(throws: CapabilityPatternError(pattern: row.0, kind: row.1)) { try CapabilityPattern(row.0) }
    }

    @Test func namesAndErrorsReadWell() throws {
        #expect(CapabilityPattern.isValidName("gpio.write"))
        #expect(CapabilityPattern.isValidName("sensors.read-all_2"))
        #expect(!CapabilityPattern.isValidName("gpio.*"))
        #expect(!CapabilityPattern.isValidName("*"))
        #expect(try CapabilityPattern("*").isWildcard)
        let error = CapabilityPatternError(pattern: "gp*", kind: .misplacedWildcard(offset: 2))
        #expect(error.description.contains("gpio.*"))
    }
}

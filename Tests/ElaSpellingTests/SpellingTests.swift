import Testing

@testable import ElaSpelling

@Suite struct SpellingTests {
    @Test func sameNameButForCaseAndSeparatorsComesFirst() {
        #expect(Spelling.closest(to: "retentionDays", among: ["max_rows", "retention_days"]) == "retention_days")
        #expect(Spelling.closest(to: "RETENTION-DAYS", among: ["max_rows", "retention_days"]) == "retention_days")
        // Preferred over a name one edit away.
        #expect(Spelling.closest(to: "max-row", among: ["maxrow", "max_rows"]) == "maxrow")
    }

    @Test func typosWithinTheLimit() {
        let methods = ["gpio.info", "gpio.read", "gpio.release", "gpio.watch", "gpio.write", "sensors.read"]
        #expect(Spelling.closest(to: "gpio.raed", among: methods) == "gpio.read")
        #expect(Spelling.closest(to: "gpio.wirte", among: methods) == "gpio.write")
        #expect(Spelling.closest(to: "gpio.red", among: methods) == "gpio.read")
        #expect(Spelling.closest(to: "sensor.read", among: methods) == "sensors.read")
        #expect(Spelling.closest(to: "prot", among: ["port", "host"]) == "port")
        // Too far for its length: no guess.
        #expect(Spelling.closest(to: "gpio.toggle", among: methods) == nil)
        #expect(Spelling.closest(to: "ab", among: ["xy"]) == nil)
        #expect(Spelling.closest(to: "x", among: []) == nil)
        // Ties go to the name that sorts first.
        #expect(Spelling.closest(to: "cat", among: ["cut", "bat"]) == "bat")
    }

    @Test func hintsNameTheCloseOneOrListTheRest() {
        #expect(Spelling.hint(for: "gpio.raed", among: ["gpio.read", "gpio.write"], kind: "methods") == "did you mean 'gpio.read'?")
        #expect(Spelling.hint(for: "motor.spin", among: ["gpio.read", "gpio.write"], kind: "methods") == "known methods: gpio.read, gpio.write")
    }

    @Test func distanceCountsEditsAndSwaps() {
        func d(_ a: String, _ b: String) -> Int { Spelling.distance(Array(a), Array(b)) }
        #expect(d("", "abc") == 3)
        #expect(d("abc", "abc") == 0)
        #expect(d("kitten", "sitting") == 3)
        #expect(d("journal", "jornal") == 1)
        #expect(d("journal", "journla") == 1)
        #expect(d("ab", "ba") == 1)
        #expect(d("abcdef", "badcfe") == 3)
    }
}

import ElaGate
import ElaJSON
import ElaTestSupport
import Testing

@Suite(.ownThread) struct GrantConstraintsTests {
    let pins: GrantConstraints

    init() throws { pins = try GrantConstraints(["pin": ["LED0", "LED1"], "value": ["0", "1"]]) }

    @Test func scalarsAndArraysInTheSetSatisfy() {
        #expect(pins.violation(by: ["pin": "LED0", "value": 1]) == nil)
        #expect(pins.violation(by: ["pin": "LED1", "value": "0"]) == nil)
        #expect(pins.violation(by: ["pin": ["LED0", "LED1"], "value": [0, 1, 1]]) == nil)
        let flags = try? GrantConstraints(["on": ["true"]])
        #expect(flags?.violation(by: ["on": true]) == nil)
        #expect(flags?.violation(by: ["on": false])?.description == "constraint on: value \"false\" not allowed")
        #expect(GrantConstraints.none.violation(by: [:]) == nil)
    }

    @Test func violationsNameTheParam() {
        #expect(pins.violation(by: ["value": 1])?.description == "constraint pin: param missing")
        #expect(pins.violation(by: ["pin": "LED2", "value": 1])?.description == "constraint pin: value \"LED2\" not allowed")
        #expect(pins.violation(by: ["pin": ["LED0", "LED7"], "value": 1]) == ConstraintViolation(param: "pin", problem: .notAllowed("LED7")))
        #expect(pins.violation(by: ["pin": [], "value": 1])?.problem == .emptyArray)
        #expect(pins.violation(by: ["pin": .null, "value": 1])?.problem == .unsupportedType("null"))
        #expect(pins.violation(by: ["pin": .object(["LED0": 1]), "value": 1])?.problem == .unsupportedType("an object"))
        #expect(pins.violation(by: ["pin": [["LED0"]], "value": 1])?.problem == .unsupportedType("an array"))
        // Numbers compare by their JSON text: 1.0 is not 1.
        let value = try? JSONParser.parse("{\"pin\":\"LED0\",\"value\":1.0}")
        #expect(pins.violation(by: value?.objectValue ?? [:])?.description == "constraint value: value \"1.0\" not allowed")
    }

    @Test func jsonAndArgumentFormsRoundTrip() throws {
        #expect(pins.jsonText == "{\"pin\":[\"LED0\",\"LED1\"],\"value\":[\"0\",\"1\"]}")
        #expect(try GrantConstraints(jsonText: pins.jsonText) == pins)
        #expect(try GrantConstraints(arguments: ["pin=LED1,LED0", "value=0", "value=1"]) == pins)
        #expect(pins.description == "pin=LED0,LED1 value=0,1")
        #expect(GrantConstraints.none.jsonText == "{}")
    }

    @Test func badConstraintsAreTypedErrors() {
        #expect(throws: GrantConstraintsError.noValues(param: "pin")) { try GrantConstraints(["pin": []]) }
        #expect(throws: GrantConstraintsError.invalidParamName("pin name")) { try GrantConstraints(["pin name": ["a"]]) }
        #expect(throws: GrantConstraintsError.invalidParamName("")) { try GrantConstraints(["": ["a"]]) }
        #expect(throws: GrantConstraintsError.badArgument("pin")) { try GrantConstraints(arguments: ["pin"]) }
        #expect(throws: GrantConstraintsError.badArgument("pin=a,,b")) { try GrantConstraints(arguments: ["pin=a,,b"]) }
        #expect(throws: GrantConstraintsError.notAString(param: "pin", found: "a number")) {
            try GrantConstraints(jsonText: "{\"pin\":[1]}")
        }
        #expect(throws: GrantConstraintsError.notAnArray(param: "pin", found: "a string")) {
            try GrantConstraints(jsonText: "{\"pin\":\"LED0\"}")
        }
        #expect(throws: GrantConstraintsError.notAnObject(found: "an array")) { try GrantConstraints(jsonText: "[]") }
        #expect(throws: GrantConstraintsError.self) { try GrantConstraints(jsonText: "{") }
        let many = Dictionary(uniqueKeysWithValues: (0...32).map { ("p\($0)", ["x"]) })
        #expect(throws: GrantConstraintsError.tooManyParams(33)) { try GrantConstraints(many) }
    }
}

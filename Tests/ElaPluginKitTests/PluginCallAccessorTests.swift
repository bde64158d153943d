import ElaJSON
import ElaPluginKit
import Testing

@Suite struct PluginCallAccessorTests {
    let call = PluginCall(
        method: "x.do",
        params: JSONObject([
            ("s", "text"), ("i", 7), ("f", .number(JSONNumber(1.5)!)), ("b", true), ("o", .object(JSONObject([("k", 1)]))),
            ("a", [1, 2]), ("n", nil),
        ]))

    @Test func typedValuesAreReturned() throws {
        #expect(try call.string("s") == "text")
        #expect(try call.int("i") == 7)
        #expect(try call.double("f") == 1.5)
        #expect(try call.double("i") == 7)
        #expect(try call.bool("b"))
        #expect(try call.object("o")["k"] == 1)
        #expect(try call.array("a") == [1, 2])
        #expect(try call.optionalString("n") == nil)
        #expect(try call.optionalInt("missing") == nil)
    }

    @Test func errorsNameTheKeyAndWhatWasExpected() {
        func message(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as PluginError {
                return error.kind == .invalidParams ? error.message : "wrong kind \(error)"
            } catch { return "not a PluginError: \(error)" }
            return nil
        }
        #expect(message { _ = try call.string("missing") } == "x.do: missing \"missing\" (a string)")
        #expect(message { _ = try call.string("i") } == "x.do: \"i\" must be a string, found a number")
        #expect(message { _ = try call.int("f") } == "x.do: \"f\" must be an integer, found 1.5")
        #expect(message { _ = try call.bool("s") } == "x.do: \"s\" must be true or false, found a string")
        #expect(message { _ = try call.int("n") } == "x.do: missing \"n\" (an integer)")
        #expect(message { _ = try call.object("a") } == "x.do: \"a\" must be an object, found an array")
        #expect(message { _ = try call.double("b") } == "x.do: \"b\" must be a number, found a boolean")
    }

    @Test func errorKindsCarryTheirCodes() {
        #expect(PluginError.invalidParams("x").kind.code == -32602)
        #expect(PluginError.failed("x").kind.code == -32000)
        #expect(PluginError.internalError("x").kind.code == -32603)
        #expect(PluginError.failed("busy").description == "failed: busy")
    }

    @Test func reservedNamesAreNotRoutable() {
        var d = PluginDefinition(name: "x", version: "1.0.0")
        d.method("ela.ping") { _, _ in .null }
        d.method("x.a") { _, _ in .null }
        d.method("x.a") { _, _ in 1 }
        d.event("x.e")
        d.event("x.e")
        #expect(d.methods == ["x.a"])
        #expect(d.events == ["x.e"])
    }
}

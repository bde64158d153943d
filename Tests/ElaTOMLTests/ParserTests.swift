import ElaTOML
import ElaTestSupport
import Testing

/// Error positions, table semantics and edge cases of the parser.
@Suite(.ownThread) struct ParserTests {
    /// The error thrown for `text`, failing the test if it parses.
    func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TOMLError? {
        do {
            let table = try TOML.parse(text)
            Issue.record("expected an error, parsed \(table.keys)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func valuesAndKeyOrder() throws {
        let table = try TOML.parse(
            """
            title = "x"
            [server]
            port = 8080
            ratio = 0.5
            on = true
            [[peer]]
            host = "a"
            [[peer]]
            host = "b"
            """)
        #expect(table.keys == ["title", "server", "peer"])
        #expect(table["title"] == .string("x"))
        let server = try #require(table["server"]?.tableValue)
        #expect(server.keys == ["port", "ratio", "on"])
        #expect(server["port"] == .integer(8080))
        #expect(server["ratio"] == .float(0.5))
        #expect(server["on"] == .bool(true))
        let peers = try #require(table["peer"]?.arrayValue)
        #expect(peers.map { $0.tableValue?["host"] } == [.string("a"), .string("b")])
    }

    @Test func keyPositions() throws {
        let table = try TOML.parse("a = 1\n\n[srv]\n  port = 2\n[x.y]\n")
        #expect(table.position(of: "a") == TOMLPosition(line: 1, column: 1))
        #expect(table.position(of: "srv") == TOMLPosition(line: 3, column: 2))
        let server = try #require(table["srv"]?.tableValue)
        #expect(server.position(of: "port") == TOMLPosition(line: 4, column: 3))
        let x = try #require(table["x"]?.tableValue)
        #expect(x.position(of: "y") == TOMLPosition(line: 5, column: 4))
    }

    @Test func errorPositions() {
        #expect(parseError("a = 1\nb = \"open\nc = 2")?.position == TOMLPosition(line: 2, column: 10))
        let duplicate = parseError("name = 1\n\nname = 2")
        #expect(duplicate?.position == TOMLPosition(line: 3, column: 1))
        #expect(duplicate?.message.contains("line 1") == true)
        #expect(parseError("[a]\nx = 1\n[a]\n")?.position.line == 3)
        #expect(parseError("x = 0777")?.message.contains("leading zeros") == true)
        let description = parseError("a = tru")?.description ?? ""
        #expect(description.hasPrefix("line 1, column 5: "))
    }

    @Test func invalidUTF8IsLocated() {
        let bytes: [UInt8] = Array("a = 1\nb = \"".utf8) + [0xC3, 0x28] + Array("\"\n".utf8)
        do {
            _ = try TOML.parse(bytes: bytes)
            Issue.record("invalid UTF-8 accepted")
        } catch {
            #expect(error.position == TOMLPosition(line: 2, column: 6))
            #expect(error.message.contains("UTF-8"))
        }
    }

    @Test func byteOrderMarkAtStartIsSkipped() throws {
        let table = try TOML.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("a = 1".utf8))
        #expect(table["a"] == .integer(1))
    }

    @Test func integerLimits() throws {
        let table = try TOML.parse("max = 9_223_372_036_854_775_807\nmin = -9223372036854775808\nhex = 0x7fffffffffffffff")
        #expect(table["max"] == .integer(.max))
        #expect(table["min"] == .integer(.min))
        #expect(table["hex"] == .integer(.max))
        #expect(parseError("x = 9223372036854775808")?.message.contains("out of range") == true)
        #expect(parseError("x = -9223372036854775809")?.message.contains("out of range") == true)
        #expect(parseError("x = 0x8000000000000000")?.message.contains("out of range") == true)
        #expect(parseError("x = 1e400")?.message.contains("out of range") == true)
    }

    @Test func datesAndTimes() throws {
        let table = try TOML.parse(
            """
            leap = 2024-02-29
            odt = 1979-05-27T00:32:00.999999-07:30
            utc = 1979-05-27 07:32:00z
            ldt = 1979-05-27T07:32:00.5
            lt = 07:32:00.123456789123
            leapsecond = 1990-12-31T23:59:60Z
            """)
        #expect(table["leap"] == .localDate(try #require(TOMLDate(year: 2024, month: 2, day: 29))))
        guard case .offsetDateTime(let odt)? = table["odt"] else {
            Issue.record("odt is \(String(describing: table["odt"]))")
            return
        }
        #expect(odt.offsetMinutes == -450)
        #expect(odt.nanosecond == 999_999_000)
        #expect(odt.description == "1979-05-27T00:32:00.999999-07:30")
        guard case .offsetDateTime(let utc)? = table["utc"], case .localDateTime(let ldt)? = table["ldt"],
            case .localTime(let lt)? = table["lt"]
        else {
            Issue.record("wrong types: \(table)")
            return
        }
        #expect(utc.description == "1979-05-27T07:32:00Z")
        #expect(ldt.description == "1979-05-27T07:32:00.500")
        #expect(ldt.offsetMinutes == nil)
        #expect(lt.nanosecond == 123_456_789)  // digits beyond nanoseconds are truncated
        #expect(lt.description == "07:32:00.123456789")
        #expect(parseError("d = 2023-02-29")?.message.contains("no such day") == true)
        #expect(parseError("d = 2100-02-29")?.message.contains("no such day") == true)
        #expect(parseError("d = 1979-02-30T00:00:00")?.message.contains("no such day") == true)
        #expect(parseError("t = 24:00:00")?.message.contains("out of range") == true)
        #expect(parseError("t = 07:32")?.message.contains("seconds are required") == true)
        #expect(parseError("t = 1979-05-27T07:32:00+24:00") != nil)
    }

    @Test func stringForms() throws {
        let table = try TOML.parse(
            "basic = \"tab\\there \\u00e9 \\U0001F600\"\r\n"
                + "multi = \"\"\"\r\none\r\ntwo \\\r\n     three\"\"\"\"\"\r\n"
                + "literal = 'C:\\path'\r\n"
                + "raw = '''\n''x''\n'''")
        #expect(table["basic"] == .string("tab\there é 😀"))
        #expect(table["multi"] == .string("one\ntwo three\"\""))
        #expect(table["literal"] == .string("C:\\path"))
        #expect(table["raw"] == .string("''x''\n"))
        #expect(parseError("s = \"\\uD800\"")?.message.contains("not a Unicode scalar value") == true)
        #expect(parseError("s = \"\\x41\"")?.message.contains("invalid escape") == true)
        #expect(parseError("s = \"a\u{7F}\"")?.message.contains("U+007F") == true)
        #expect(parseError("s = \"\"\"a\"\"\"\"\"\"") != nil)
    }

    @Test func tableDefinitionRules() {
        // Dotted keys may not extend a table defined by a header, and vice versa.
        #expect(parseError("[a.b]\nx = 1\n[a]\nb.y = 2") != nil)
        #expect(parseError("[a]\nb.c = 1\n[a.b]\n") != nil)
        #expect(parseError("a = {x = 1}\n[a]\n") != nil)
        #expect(parseError("a = {x = 1}\na.y = 2\n") != nil)
        #expect(parseError("a = [1]\n[[a]]\n") != nil)
        #expect(parseError("[[a]]\n[a]\n") != nil)
        // Allowed: sub-tables of dotted-key tables, implicit tables defined later.
        #expect(throws: Never.self) { try TOML.parse("[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true") }
        #expect(throws: Never.self) { try TOML.parse("[a.b.c]\n[a]\nd = 1\n[a.b]\ne = 2") }
        #expect(throws: Never.self) { try TOML.parse("[[a]]\n[a.b]\n[[a]]\n[a.b]") }
    }

    @Test func nestingDepthIsLimited() throws {
        let limit = TOML.maximumNestingDepth
        // Tables and arrays may nest `limit` levels below the root table; scalars do not count.
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try TOML.parse("a = " + deepest) }
        #expect(throws: Never.self) { try TOML.parse(Array(repeating: "k", count: limit + 1).joined(separator: ".") + " = 1") }
        for text in [
            "a = " + String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1),
            "a = " + String(repeating: "[", count: 100_000),
            "a = " + String(repeating: "{b = ", count: 10_000),
            "[" + Array(repeating: "k", count: limit + 1).joined(separator: ".") + "]",
            Array(repeating: "k", count: limit + 2).joined(separator: ".") + " = 1",
        ] {
            let message = parseError(text)?.message ?? ""
            #expect(message.contains("deeper than \(limit)"), "\(message)")
        }
    }

    @Test func canonicalDateTimeStrings() throws {
        let date = try #require(TOMLDate(year: 7, month: 1, day: 2))
        let time = try #require(TOMLTime(hour: 3, minute: 4, second: 5, nanosecond: 120_000_000))
        #expect(date.description == "0007-01-02")
        #expect(time.description == "03:04:05.120")
        #expect(TOMLDateTime(date: date, time: time, offsetMinutes: 0)?.description == "0007-01-02T03:04:05.120Z")
        #expect(TOMLDateTime(date: date, time: time, offsetMinutes: 330)?.description == "0007-01-02T03:04:05.120+05:30")
        #expect(TOMLDate(year: 2023, month: 2, day: 29) == nil)
        #expect(TOMLTime(hour: 24, minute: 0, second: 0) == nil)
    }
}

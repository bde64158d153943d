import ElaSQLite
import ElaTestSupport
import Testing

@Suite(.ownThread) struct BindingTests {
    @Test func roundTripsEveryType() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try SQLiteConnection(path: dir + "/types.db")
            // No declared types: no affinity, so values come back exactly as bound.
            try connection.execute(
                "CREATE TABLE v (i, i64min, i64max, d, b, s, u, z, blob, emptyBlob, emptyText, absent)")
            let unicode = "héllo wörld, 日本語, Ελληνικά, 🚀👩‍💻"
            let withNUL = "a\u{0}b"
            let blob: [UInt8] = [0, 0, 255, 0, 1, 0]
            let none: String? = nil
            try connection.run(
                "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                42, Int64.min, Int64.max, -3.25, true, unicode, withNUL, Int?.some(7), blob, [UInt8](), "", none)
            let rows = try connection.query("SELECT * FROM v") { row in
                (
                    try row[0, as: Int.self], try row[1, as: Int64.self], try row["i64max", as: Int64.self],
                    try row["d", as: Double.self], try row["b", as: Bool.self], try row["s", as: String.self],
                    try row["u", as: String.self], try row["z", as: Int?.self], try row["blob", as: [UInt8].self],
                    try row["emptyBlob", as: [UInt8].self], try row["emptyText", as: String.self],
                    try row["absent", as: String?.self], try row["absent", as: SQLiteValue.self]
                )
            }
            let row = try #require(rows.first)
            #expect(row.0 == 42)
            #expect(row.1 == Int64.min)
            #expect(row.2 == Int64.max)
            #expect(row.3 == -3.25)
            #expect(row.4 == true)
            #expect(row.5 == unicode)
            #expect(row.6 == withNUL && row.6.utf8.count == 3)
            #expect(row.7 == 7)
            #expect(row.8 == blob)
            #expect(row.9 == [])
            #expect(row.10 == "")
            #expect(row.11 == nil)
            #expect(row.12 == .null)
            // Empty blob and empty text stay blob and text; they must not turn into NULL.
            let kinds = try connection.query("SELECT typeof(emptyBlob), typeof(emptyText), typeof(absent) FROM v") {
                row in [try row[0, as: String.self], try row[1, as: String.self], try row[2, as: String.self]]
            }
            #expect(kinds == [["blob", "text", "null"]])
        }
    }

    @Test func bindsByNameAndReusesStatements() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE peer (did TEXT PRIMARY KEY, trusted INTEGER NOT NULL)")
        let insert = try connection.prepare("INSERT INTO peer (did, trusted) VALUES (:did, @trusted)")
        #expect(insert.parameterCount == 2)
        for (did, trusted) in [("did:elastos:a", true), ("did:elastos:b", false)] {
            try insert.bind(did, named: "did")
            try insert.bind(trusted, named: "@trusted")
            try insert.execute()
        }
        try insert.bind(["did": "did:elastos:c", "trusted": true] as [String: any SQLiteBindable])
        try insert.execute()
        let trusted = try connection.query("SELECT did FROM peer WHERE trusted = ? ORDER BY did", true) {
            row -> String in try row["did"]
        }
        #expect(trusted == ["did:elastos:a", "did:elastos:c"])
    }

    @Test func rejectsUnknownNamesAndWrongArgumentCounts() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let statement = try connection.prepare("SELECT :a, ?2")
        let unknown = #expect(throws: SQLiteError.self) { try statement.bind(1, named: "nope") }
        #expect(unknown?.code == .range)
        #expect(unknown?.message.contains("nope") == true)
        let count = #expect(throws: SQLiteError.self) { try connection.run("SELECT ?, ?", 1) }
        #expect(count?.code == .range)
        #expect(throws: SQLiteError.self) { try statement.bind(1, at: 3) }
    }

    @Test func typeMismatchNamesTheColumn() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteDecodingError.self) {
            _ = try connection.query("SELECT 'abc' AS nickname") { row -> Int in try row["nickname"] }
        }
        #expect(error?.column == "nickname")
        #expect(error?.index == 0)
        #expect(error?.reason == .typeMismatch(expected: "Int", found: .text))
        #expect(error?.description.contains("nickname") == true)
        #expect(error?.sql == "SELECT 'abc' AS nickname")

        let byIndex = #expect(throws: SQLiteDecodingError.self) {
            _ = try connection.query("SELECT NULL AS gone") { row -> String in try row[0] }
        }
        #expect(byIndex?.column == "gone")
        #expect(byIndex?.reason == .typeMismatch(expected: "String", found: .null))
    }

    @Test func unknownColumnIsReported() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteDecodingError.self) {
            _ = try connection.query("SELECT 1 AS one") { row -> Int in try row["two"] }
        }
        #expect(error?.reason == .noSuchColumn)
        #expect(error?.column == "two")
        #expect(throws: SQLiteDecodingError.self) {
            _ = try connection.query("SELECT 1") { row -> Int in try row[5] }
        }
        // Names match case-insensitively, as in SQL.
        #expect(try connection.query("SELECT 1 AS One") { row -> Int in try row["one"] } == [1])
    }

    @Test func rowUsedAfterItsStatementMovedOnIsRejected() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let rows = try connection.query("SELECT 1 UNION ALL SELECT 2") { row in row }
        let error = #expect(throws: SQLiteDecodingError.self) { _ = try rows[0][0, as: Int.self] }
        #expect(error?.reason == .rowNoLongerCurrent)
    }
}

import ElaSQLite
import ElaTestSupport
import Testing

@Suite(.ownThread) struct ErrorTests {
    @Test func syntaxErrorCarriesMessageAndSQL() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) { try connection.prepare("SELEC 1") }
        #expect(error?.code == .error)
        #expect(error?.message.contains("syntax error") == true)
        #expect(error?.sql == "SELEC 1")
        #expect(error?.description.contains("SELEC 1") == true)
    }

    @Test func scriptErrorNamesTheFailingStatement() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) {
            try connection.execute("CREATE TABLE a (x); INSERT INTO missing VALUES (1); CREATE TABLE b (y);")
        }
        #expect(error?.message.contains("no such table: missing") == true)
        #expect(error?.sql?.hasPrefix("INSERT INTO missing") == true)
        // Statements before the failure ran; the ones after did not.
        #expect(
            try connection.query("SELECT name FROM sqlite_schema ORDER BY name") { row -> String in try row[0] } == [
                "a"
            ])
    }

    @Test func constraintViolationIsTyped() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE users (email TEXT NOT NULL UNIQUE)")
        try connection.run("INSERT INTO users VALUES (?)", "a@example.org")
        #expect(isConstraintViolation { try connection.run("INSERT INTO users VALUES (?)", "a@example.org") })
        let error = #expect(throws: SQLiteError.self) {
            try connection.run("INSERT INTO users VALUES (?)", "a@example.org")
        }
        #expect(error?.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(error?.message == "UNIQUE constraint failed: users.email")
        let notNull = #expect(throws: SQLiteError.self) { try connection.run("INSERT INTO users VALUES (NULL)") }
        #expect(notNull?.extendedCode == 1299)  // SQLITE_CONSTRAINT_NOTNULL
    }

    /// Shows the `catch SQLiteError.Code.x` pattern callers use.
    private func isConstraintViolation(_ body: () throws -> Void) -> Bool {
        do {
            try body()
            return false
        } catch SQLiteError.Code.constraint {
            return true
        } catch {
            return false
        }
    }

    @Test func prepareRefusesMoreThanOneStatement() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let error = #expect(throws: SQLiteError.self) { try connection.prepare("SELECT 1; SELECT 2") }
        #expect(error?.code == .misuse)
        // Trailing whitespace and comments are fine.
        _ = try connection.prepare("SELECT 1; -- done\n")
    }
}

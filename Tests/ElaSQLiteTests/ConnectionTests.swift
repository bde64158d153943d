import ElaSQLite
import ElaTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.ownThread) struct ConnectionTests {
    @Test func opensInWALModeAndWritesTheWALFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/agent.db"
            let connection = try SQLiteConnection(path: path)
            #expect(try connection.query("PRAGMA journal_mode") { row -> String in try row[0] } == ["wal"])
            #expect(try connection.query("PRAGMA synchronous") { row -> Int in try row[0] } == [1])  // NORMAL
            #expect(try connection.query("PRAGMA foreign_keys") { row -> Bool in try row[0] } == [true])
            try connection.execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            #expect(fileExists(path + "-wal"))
            #expect((fileSize(path + "-wal") ?? 0) > 0)
        }
    }

    @Test func privateDatabasesNeedNoWAL() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        #expect(try connection.query("PRAGMA journal_mode") { row -> String in try row[0] } == ["memory"])
        let temporary = try SQLiteConnection(path: "")
        try temporary.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        #expect(try temporary.query("SELECT x FROM t") { row -> Int in try row[0] } == [1])
    }

    @Test func enforcesForeignKeys() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try SQLiteConnection(path: dir + "/fk.db")
            try connection.execute(
                """
                CREATE TABLE peer (id INTEGER PRIMARY KEY);
                CREATE TABLE grant_ (id INTEGER PRIMARY KEY, peer INTEGER NOT NULL REFERENCES peer(id));
                """)
            let error = #expect(throws: SQLiteError.self) {
                try connection.run("INSERT INTO grant_ (peer) VALUES (?)", 42)
            }
            #expect(error?.code == .constraint)
            #expect(error?.extendedCode == 787)  // SQLITE_CONSTRAINT_FOREIGNKEY
        }
    }

    @Test func garbageFileGivesNotADatabase() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/garbage.db"
            try writeFile(path, Array(repeating: Array("this is not a database\n".utf8), count: 200).flatMap { $0 })
            let error = #expect(throws: SQLiteError.self) { try SQLiteConnection(path: path) }
            #expect(error?.code == .notADatabase)
            #expect(error?.path == path)
            #expect(error?.description.contains(path) == true)
        }
    }

    @Test func missingDirectoryGivesCannotOpen() async throws {
        try await withTemporaryDirectory { dir in
            let error = #expect(throws: SQLiteError.self) { try SQLiteConnection(path: dir + "/no/such/dir/x.db") }
            #expect(error?.code == .cannotOpen)
        }
    }

    @Test func readOnlyConnectionRefusesWrites() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/ro.db"
            do {
                let writer = try SQLiteConnection(path: path)
                try writer.execute("CREATE TABLE t (x); INSERT INTO t VALUES (7);")
            }
            let reader = try SQLiteConnection(path: path, options: .init(readOnly: true))
            #expect(try reader.query("SELECT x FROM t") { row -> Int in try row[0] } == [7])
            let error = #expect(throws: SQLiteError.self) { try reader.run("INSERT INTO t VALUES (8)") }
            #expect(error?.code == .readOnly)
        }
    }

    @Test func readOnlyOpenOfMissingFileFails() async throws {
        try await withTemporaryDirectory { dir in
            let error = #expect(throws: SQLiteError.self) {
                try SQLiteConnection(path: dir + "/absent.db", options: .init(readOnly: true))
            }
            #expect(error?.code == .cannotOpen)
            #expect(!fileExists(dir + "/absent.db"))
        }
    }

    @Test func closedConnectionReportsMisuse() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let statement = try connection.prepare("SELECT 1")
        connection.close()
        connection.close()  // idempotent
        #expect(!connection.isOpen)
        let error = #expect(throws: SQLiteError.self) { try connection.execute("SELECT 1") }
        #expect(error?.code == .misuse)
        #expect(throws: SQLiteError.self) { try statement.step() }
    }

    @Test func lastInsertRowIDAndChanges() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v)")
        try connection.run("INSERT INTO t (v) VALUES (?)", "a")
        try connection.run("INSERT INTO t (v) VALUES (?)", "b")
        #expect(connection.lastInsertRowID == 2)
        try connection.run("UPDATE t SET v = ?", "c")
        #expect(connection.changes == 2)
    }

    @Test func doubleQuotedStringLiteralsAreRejected() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        try connection.execute("CREATE TABLE t (name TEXT)")
        let error = #expect(throws: SQLiteError.self) { try connection.run("SELECT * FROM t WHERE name = \"bob\"") }
        #expect(error?.message.contains("no such column") == true)
    }
}

import ElaSQLite
import ElaTestSupport
import Testing

private struct Abort: Error {}

@Suite(.ownThread) struct TransactionTests {
    private func ids(_ connection: SQLiteConnection) throws -> [Int] {
        try connection.query("SELECT id FROM t ORDER BY id") { row -> Int in try row[0] }
    }

    private func makeConnection(_ dir: String) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: dir + "/tx.db")
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        return connection
    }

    @Test func commitsOnReturn() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try makeConnection(dir)
            let value = try connection.transaction {
                try connection.run("INSERT INTO t VALUES (1)")
                return "done"
            }
            #expect(value == "done")
            #expect(try ids(connection) == [1])
            #expect(!connection.isInTransaction)
        }
    }

    @Test func rollsBackOnThrowAndRethrowsTheSameError() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try makeConnection(dir)
            #expect(throws: Abort.self) {
                try connection.transaction {
                    try connection.run("INSERT INTO t VALUES (1)")
                    #expect(connection.isInTransaction)
                    throw Abort()
                }
            }
            #expect(try ids(connection) == [])
            #expect(!connection.isInTransaction)
        }
    }

    @Test func nestedTransactionsUseSavepoints() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try makeConnection(dir)
            try connection.transaction {
                try connection.run("INSERT INTO t VALUES (1)")
                // The inner failure undoes only the inner insert; the outer goes on.
                #expect(throws: Abort.self) {
                    try connection.transaction {
                        try connection.run("INSERT INTO t VALUES (2)")
                        try connection.transaction { try connection.run("INSERT INTO t VALUES (3)") }
                        throw Abort()
                    }
                }
                try connection.transaction { try connection.run("INSERT INTO t VALUES (4)") }
                #expect(try ids(connection) == [1, 4])
            }
            #expect(try ids(connection) == [1, 4])
            #expect(!connection.isInTransaction)

            // An inner failure that is not caught rolls back everything.
            #expect(throws: Abort.self) {
                try connection.transaction {
                    try connection.run("INSERT INTO t VALUES (5)")
                    try connection.transaction {
                        try connection.run("INSERT INTO t VALUES (6)")
                        throw Abort()
                    }
                }
            }
            #expect(try ids(connection) == [1, 4])
            #expect(!connection.isInTransaction)
        }
    }

    @Test func failedCommitRollsBack() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try makeConnection(dir)
            try connection.execute(
                """
                CREATE TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
                """)
            // A deferred foreign key is checked at COMMIT, which then fails.
            let error = #expect(throws: SQLiteError.self) {
                try connection.transaction { try connection.run("INSERT INTO child VALUES (9)") }
            }
            #expect(error?.code == .constraint)
            #expect(!connection.isInTransaction)
            #expect(try connection.query("SELECT count(*) FROM child") { row -> Int in try row[0] } == [0])
        }
    }
}

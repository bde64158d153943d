import ElaSQLite
import ElaTestSupport
import Testing

@Suite(.ownThread) struct DatabaseTests {
    @Test func manyTasksKeepAllRows() async throws {
        try await withTemporaryDirectory { dir in
            let database = try SQLiteDatabase(path: dir + "/shared.db")
            try database.migrate(
                SQLiteMigrator([
                    SQLiteMigration(
                        version: 1, name: "audit",
                        sql: "CREATE TABLE audit (id INTEGER PRIMARY KEY, task INTEGER, n INTEGER)")
                ]))
            let tasks = 16
            let perTask = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        for n in 0..<perTask {
                            try database.write { connection in
                                try connection.run("INSERT INTO audit (task, n) VALUES (?, ?)", task, n)
                            }
                            if n % 10 == 0 {
                                let seen = try database.read { connection in
                                    try connection.query("SELECT count(*) FROM audit") { row -> Int in try row[0] }
                                }
                                #expect((seen.first ?? 0) >= 1)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let count = try database.read { try $0.query("SELECT count(*) FROM audit") { row -> Int in try row[0] } }
            #expect(count == [tasks * perTask])
            let distinct = try database.read {
                try $0.query("SELECT count(DISTINCT task * 1000 + n) FROM audit") { row -> Int in try row[0] }
            }
            #expect(distinct == [tasks * perTask])
        }
    }

    @Test func writeRollsBackOnThrowAndReadRefusesWrites() async throws {
        struct Abort: Error {}
        try await withTemporaryDirectory { dir in
            let database = try SQLiteDatabase(path: dir + "/rw.db")
            try database.write { try $0.execute("CREATE TABLE t (x)") }
            #expect(throws: Abort.self) {
                try database.write { connection in
                    try connection.run("INSERT INTO t VALUES (1)")
                    throw Abort()
                }
            }
            let error = #expect(throws: SQLiteError.self) {
                try database.read { try $0.run("INSERT INTO t VALUES (2)") }
            }
            #expect(error?.code == .readOnly)
            let scripted = #expect(throws: SQLiteError.self) {
                try database.read { try $0.execute("SELECT 1; DELETE FROM t") }
            }
            #expect(scripted?.code == .readOnly)
            // Writes work again after a read.
            try database.write { try $0.run("INSERT INTO t VALUES (3)") }
            #expect(try database.read { try $0.query("SELECT x FROM t") { row -> Int in try row[0] } } == [3])
        }
    }
}

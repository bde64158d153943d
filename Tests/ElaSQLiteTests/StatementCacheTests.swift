import ElaSQLite
import ElaTestSupport
import Testing

/// `run`, `query` and transactions reuse prepared statements; reuse must never mix up rows or bindings.
@Suite(.ownThread) struct StatementCacheTests {
    @Test func repeatedQueriesSeeFreshBindingsAndRows() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        for k in 0..<100 { try db.run("INSERT INTO t (k, v) VALUES (?, ?)", k, "v\(k)") }
        for k in [5, 99, 0, 42] {
            #expect(try db.query("SELECT v FROM t WHERE k = ?", k) { row -> String in try row[0] } == ["v\(k)"])
        }
        #expect(try db.query("SELECT v FROM t WHERE k = ?", 1000) { row -> String in try row[0] } == [])
    }

    @Test func theSameQueryNestedInsideItsOwnRowsGetsItsOwnStatement() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER); INSERT INTO t VALUES (1), (2), (3);")
        let sql = "SELECT k FROM t WHERE k >= ? ORDER BY k"
        let pairs = try db.query(sql, 1) { row -> [Int] in
            let outer: Int = try row[0]
            // While the outer statement is stepping, the inner use of the same SQL must not reset it.
            let inner = try db.query(sql, outer) { r -> Int in try r[0] }
            return [outer, inner.count]
        }
        #expect(pairs == [[1, 3], [2, 2], [3, 1]])
    }

    @Test func aFailedStatementDoesNotPoisonItsNextUse() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        try db.run("INSERT INTO t (k) VALUES (?)", 1)
        #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t (k) VALUES (?)", 1) }
        try db.run("INSERT INTO t (k) VALUES (?)", 2)
        #expect(try db.query("SELECT count(*) FROM t") { row -> Int in try row[0] } == [2])
    }

    @Test func transactionsCommitAndRollBackWithCachedStatements() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER)")
        for i in 0..<3 {
            try db.transaction { try db.run("INSERT INTO t VALUES (?)", i) }
            #expect(throws: SQLiteError.self) {
                try db.transaction {
                    try db.run("INSERT INTO t VALUES (?)", 100 + i)
                    try db.run("INSERT INTO missing VALUES (1)")
                }
            }
        }
        #expect(try db.query("SELECT k FROM t ORDER BY k") { row -> Int in try row[0] } == [0, 1, 2])
        #expect(!db.isInTransaction)
    }

    @Test func closingWithCachedStatementsThenUsingFailsCleanly() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER)")
        try db.run("INSERT INTO t VALUES (?)", 1)
        #expect(try db.query("SELECT k FROM t") { row -> Int in try row[0] } == [1])
        db.close()
        #expect(throws: SQLiteError.self) { _ = try db.query("SELECT k FROM t") { row -> Int in try row[0] } }
        #expect(throws: SQLiteError.self) { try db.run("INSERT INTO t VALUES (?)", 2) }
    }

    @Test func manyDistinctStatementsStayCorrectPastTheCacheLimit() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (k INTEGER)")
        for i in 0..<200 { try db.run("INSERT INTO t VALUES (\(i))") }
        #expect(try db.query("SELECT count(*), sum(k) FROM t") { row -> [Int] in [try row[0], try row[1]] } == [[200, 19900]])
    }
}

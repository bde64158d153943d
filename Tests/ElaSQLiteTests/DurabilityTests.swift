import ElaSQLite
import ElaTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Committed data must survive a process that dies without closing or checkpointing (synchronous=NORMAL in WAL),
/// and a transaction open at that moment must vanish, even when its pages were already spilled into the WAL.
@Suite(.ownThread) struct DurabilityTests {
    static let committed = 50

    /// Writes `committed` rows in separate transactions, then leaves a big transaction open.
    static func writeCommittedThenLeaveTransactionOpen(_ connection: SQLiteConnection) throws {
        try connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        for id in 1...committed {
            try connection.transaction {
                try connection.run("INSERT INTO t VALUES (?, ?)", id, [UInt8](repeating: 1, count: 200))
            }
        }
        // A tiny page cache makes SQLite spill the uncommitted pages into the WAL (without a commit frame).
        try connection.execute("PRAGMA cache_size = 2; BEGIN IMMEDIATE;")
        for id in 10_001...10_300 {
            try connection.run("INSERT INTO t VALUES (?, ?)", id, [UInt8](repeating: 2, count: 4000))
        }
    }

    static func expectOnlyCommittedRows(at path: String) throws {
        let connection = try SQLiteConnection(path: path)
        let summary = try connection.query("SELECT count(*), max(id) FROM t") { row in
            (try row[0, as: Int.self], try row[1, as: Int.self])
        }
        #expect(summary.first?.0 == committed)
        #expect(summary.first?.1 == committed)
        #expect(try connection.query("PRAGMA integrity_check") { row -> String in try row[0] } == ["ok"])
    }

    @Test func copiedFilesOfALiveConnectionHoldExactlyTheCommittedRows() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/live.db"
            let connection = try SQLiteConnection(path: path)
            try Self.writeCommittedThenLeaveTransactionOpen(connection)
            #expect(connection.isInTransaction)
            // The files as a killed process would leave them: never checkpointed, never closed.
            let walSize = try #require(fileSize(path + "-wal"))
            #expect(walSize > 300 * 4000)  // the open transaction's pages are in the WAL too
            for suffix in ["", "-wal", "-shm"] where fileExists(path + suffix) {
                try copyFile(path + suffix, to: dir + "/copy.db" + suffix)
            }
            try Self.expectOnlyCommittedRows(at: dir + "/copy.db")
            connection.close()
        }
    }

    @Test func committedRowsSurviveSIGKILL() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/killed.db"
            // The body runs in a real child process (Swift Testing spawns it; no fork from Swift).
            await #expect(processExitsWith: .signal(SIGKILL)) { [path = path as String] in
                let connection = try SQLiteConnection(path: path)
                try DurabilityTests.writeCommittedThenLeaveTransactionOpen(connection)
                kill(getpid(), SIGKILL)
            }
            #expect((fileSize(path + "-wal") ?? 0) > 0)
            try Self.expectOnlyCommittedRows(at: path)
        }
    }
}

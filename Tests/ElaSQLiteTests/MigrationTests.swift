import ElaSQLite
import ElaTestSupport
import Testing

@Suite(.ownThread) struct MigrationTests {
    private let v1 = SQLiteMigration(version: 1, name: "create peers", sql: "CREATE TABLE peer (did TEXT PRIMARY KEY);")
    private let v2 = SQLiteMigration(
        version: 2, name: "add grants",
        sql: """
            CREATE TABLE grant_ (id INTEGER PRIMARY KEY, did TEXT NOT NULL REFERENCES peer(did));
            CREATE INDEX grant_did ON grant_(did);
            """)

    private func tables(_ connection: SQLiteConnection) throws -> [String] {
        try connection.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") { row in try row[0] }
    }

    @Test func appliesOnceRecordsAndReRunIsANoOp() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/m.db"
            let migrator = SQLiteMigrator([v2, v1])  // order of the list does not matter
            do {
                let connection = try SQLiteConnection(path: path)
                #expect(try migrator.currentVersion(of: connection) == 0)
                #expect(try migrator.migrate(connection).map(\.version) == [1, 2])
                #expect(try migrator.migrate(connection).isEmpty)
            }
            let connection = try SQLiteConnection(path: path)
            #expect(try migrator.migrate(connection).isEmpty)
            #expect(try migrator.currentVersion(of: connection) == 2)
            #expect(try connection.query("PRAGMA user_version") { row -> Int in try row[0] } == [2])
            let recorded = try connection.query(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            ) {
                row in
                (
                    try row["version", as: Int.self], try row["name", as: String.self],
                    try row["applied_at", as: String.self]
                )
            }
            #expect(recorded.map(\.0) == [1, 2])
            #expect(recorded.map(\.1) == ["create peers", "add grants"])
            #expect(recorded.allSatisfy { $0.2.hasSuffix("Z") && $0.2.count == 24 })  // 2025-01-31T12:00:00.000Z
            #expect(try tables(connection) == ["grant_", "peer", "schema_migrations"])
        }
    }

    @Test func appliesOnlyWhatIsPending() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        #expect(try SQLiteMigrator([v1]).migrate(connection).map(\.version) == [1])
        #expect(try SQLiteMigrator([v1, v2]).migrate(connection).map(\.version) == [2])
    }

    @Test func refusesADatabaseNewerThanTheCode() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try SQLiteConnection(path: dir + "/new.db")
            try SQLiteMigrator([v1, v2]).migrate(connection)
            let error = #expect(throws: SQLiteMigrationError.self) { try SQLiteMigrator([v1]).migrate(connection) }
            guard case .databaseNewerThanCode(let databaseVersion, let known) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(databaseVersion == 2 && known == 1)
            #expect(try SQLiteMigrator([v1, v2]).currentVersion(of: connection) == 2)
        }
    }

    @Test func failingMigrationLeavesThePreviousVersion() async throws {
        try await withTemporaryDirectory { dir in
            let connection = try SQLiteConnection(path: dir + "/fail.db")
            let broken = SQLiteMigration(
                version: 3, name: "broken", sql: "CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);")
            let migrator = SQLiteMigrator([v1, v2, broken])
            let error = #expect(throws: SQLiteMigrationError.self) { try migrator.migrate(connection) }
            guard case .migrationFailed(let version, let name, let underlying) = error else {
                Issue.record("unexpected \(String(describing: error))")
                return
            }
            #expect(version == 3 && name == "broken")
            #expect((underlying as? SQLiteError)?.message.contains("nowhere") == true)
            #expect(try migrator.currentVersion(of: connection) == 2)
            #expect(try tables(connection) == ["grant_", "peer", "schema_migrations"])  // no "half"
            #expect(!connection.isInTransaction)
        }
    }

    @Test func rejectsInvalidMigrationLists() throws {
        let connection = try SQLiteConnection(path: ":memory:")
        let duplicate = SQLiteMigration(version: 1, name: "again", sql: "SELECT 1")
        #expect(throws: SQLiteMigrationError.self) { try SQLiteMigrator([v1, duplicate]).migrate(connection) }
        #expect(throws: SQLiteMigrationError.self) {
            try SQLiteMigrator([SQLiteMigration(version: 0, name: "zero", sql: "SELECT 1")]).migrate(connection)
        }
        #expect(try tables(connection) == [])
    }
}

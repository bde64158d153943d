import ElaSQLite
import ElaStorage
import ElaTestSupport
import Testing

@Suite(.ownThread) struct AgentStoreTests {
    @Test func identityPersistsAcrossReopen() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/" + AgentStore.fileName
        do {
            let store = try AgentStore(path: path)
            #expect(try store.deviceIdentity() == nil)
            try store.saveDeviceIdentity(did: "did:elastos:a", document: "{}", now: 100)
            try store.saveDeviceIdentity(did: "did:elastos:a", document: "{\"v\":2}", now: 200)
            store.close()
        }
        let store = try AgentStore(path: path)
        let record = try #require(try store.deviceIdentity())
        #expect(record.did == "did:elastos:a")
        #expect(record.document == "{\"v\":2}")
        #expect(record.createdAt == 100)
        #expect(record.updatedAt == 200)
    }

    @Test func numbersAreAllocatedOnceEachAndNeverTwice() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/" + AgentStore.fileName)
        defer { store.close() }
        func allocate(_ name: String) throws -> Int {
            try store.allocateNumber(key: "uid." + name, counter: "uid.next", in: 10...12, now: 1)
        }
        #expect(try allocate("a") == 10)
        #expect(try allocate("b") == 11)
        #expect(try allocate("a") == 10)  // stable
        #expect(try allocate("c") == 12)
        #expect(throws: NumberAllocationError.self) { try allocate("d") }  // the range is used up
        try store.setSetting("uid.e", "61000x", now: 1)
        #expect(throws: NumberAllocationError.self) { try allocate("e") }  // a stored value that is not one of them
        #expect(try store.setting("uid.next") == "13")
        // A counter an older version kept elsewhere is taken over once.
        try store.setSetting("old.next", "20", now: 1)
        #expect(try store.allocateNumber(key: "n.a", counter: "n:next", legacyCounter: "old.next", in: 0...30, now: 1) == 20)
        #expect(try store.setting("old.next") == nil && store.setting("n:next") == "21")
        #expect(try store.allocateNumber(key: "n.b", counter: "n:next", legacyCounter: "old.next", in: 0...30, now: 1) == 21)
    }

    @Test func settingsAndStartLog() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        #expect(try store.setting("x") == nil)
        try store.setSetting("x", "1", now: 1)
        try store.setSetting("x", "2", now: 2)
        #expect(try store.setting("x") == "2")
        #expect(try store.recordStart(version: "t", pid: 1, now: 1) == 1)
        #expect(try store.recordStart(version: "t", pid: 2, now: 2) == 2)
    }

    @Test func migrationsAreRecordedAndDatabaseIsWAL() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        _ = try AgentStore(path: path)
        let conn = try SQLiteConnection(path: path)
        #expect(try AgentStore.migrations.currentVersion(of: conn) == AgentStore.migrations.latestVersion)
        #expect(try conn.query("PRAGMA journal_mode") { try $0[0, as: String.self] } == ["wal"])
    }

    /// An upgrade that migrates an existing database keeps a copy of it first (the older program refuses a database
    /// migrated past it); a new database or one already current gets none.
    @Test func migratingAnOlderDatabaseKeepsACopyOfIt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/agent.db"
        do {
            let conn = try SQLiteConnection(path: path)
            try SQLiteMigrator(Array(AgentStore.migrations.migrations.prefix(5))).migrate(conn)
            try conn.run("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)", "kept", "yes", 1)
            conn.close()
        }
        let store = try AgentStore(path: path)
        #expect(try store.migrationSnapshot?.get() == path + ".schema-5")
        store.close()
        let copy = try SQLiteConnection(path: path + ".schema-5")
        #expect(try AgentStore.migrations.currentVersion(of: copy) == 5)
        #expect(try copy.query("SELECT value FROM settings WHERE key = 'kept'") { try $0[0, as: String.self] } == ["yes"])
        copy.close()
        #expect(try AgentStore(path: path).migrationSnapshot == nil, "already current")
        #expect(try AgentStore(path: dir.path + "/fresh.db").migrationSnapshot == nil, "new")
        // The next upgrade keeps only its own copy.
        do {
            let conn = try SQLiteConnection(path: dir.path + "/next.db")
            try SQLiteMigrator(Array(AgentStore.migrations.migrations.prefix(6))).migrate(conn)
            conn.close()
        }
        _ = dir.write("next.db.schema-5", "an older copy")
        _ = dir.write("next.db.schema-6", "a stale copy of the same version, replaced")
        #expect(try AgentStore(path: dir.path + "/next.db").migrationSnapshot?.get() == dir.path + "/next.db.schema-6")
        #expect(TestData.readString(dir.path + "/next.db.schema-5") == nil)
        let refreshed = try SQLiteConnection(path: dir.path + "/next.db.schema-6")
        #expect(try AgentStore.migrations.currentVersion(of: refreshed) == 6)
        refreshed.close()
    }

    @Test func aGarbageDatabaseFileIsATypedError() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.write("agent.db", String(repeating: "not a database ", count: 100))
        #expect(throws: SQLiteError.self) { try AgentStore(path: path) }
    }
}

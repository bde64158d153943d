import ElaSQLite

/// One open transaction on the agent database, handed to the body of ``AgentStore/write(_:)`` or
/// ``AgentStore/read(_:)``. Valid only inside that body: never keep it (it is not `Sendable`, so it cannot leave
/// through the body's result).
public struct StoreTransaction {
    let connection: SQLiteConnection
}

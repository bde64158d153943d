/// A value as SQLite stores it: one of its five storage classes.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// SQLite's storage classes, named as SQLite names them.
    public enum StorageClass: String, Sendable, CustomStringConvertible {
        case null = "NULL", integer = "INTEGER", real = "REAL", text = "TEXT", blob = "BLOB"
        public var description: String { rawValue }
    }

    /// The storage class of this value.
    public var storageClass: StorageClass {
        switch self {
        case .null: .null
        case .integer: .integer
        case .real: .real
        case .text: .text
        case .blob: .blob
        }
    }
}

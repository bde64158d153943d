/// Stable per-plugin user and group ids: `base + index`, with the index assigned once by the daemon to each
/// installed plugin and stored with it, so a plugin keeps owning its state directory across restarts.
///
/// The range 61000...61183 lies in Debian's block reserved for system-wide allocation (60000-64999) and ends just
/// below systemd's DynamicUser range (61184-65519), so neither ordinary users nor transient services collide with it.
/// The uid and gid of a plugin are equal.
public enum PluginUserIDs {
    public static let base: UInt32 = 61000
    /// How many plugins can have an id.
    public static let capacity = 184

    /// "61000-61183", for messages.
    public static var range: String { "\(base)-\(base + UInt32(capacity) - 1)" }

    /// The uid for the plugin with this index, or nil outside `0..<capacity`.
    public static func uid(forIndex index: Int) -> UInt32? {
        (0..<capacity).contains(index) ? base + UInt32(index) : nil
    }

    /// The gid for the plugin with this index (the same number as its uid).
    public static func gid(forIndex index: Int) -> UInt32? { uid(forIndex: index) }

    /// The index owning `uid`, or nil if it is not a plugin id.
    public static func index(forUID uid: UInt32) -> Int? {
        (base..<base + UInt32(capacity)).contains(uid) ? Int(uid - base) : nil
    }
}

internal import ElaTOML

/// Settings changed with `elactl config set`: kept in the agent's database (settings `config.<section>.<key>`, a
/// TOML value's text each), laid over `/etc/ela-agent/agent.toml` at the next start, so the packaged file (a Debian
/// conffile) stays as installed. Only sections read after the state directory opens can be changed this way.
public enum ConfigOverrides {
    /// The settings-table prefix.
    public static let settingPrefix = "config."
    /// How errors name where an override came from.
    public static let origin = "elactl config set"
    /// Read before the database opens (where the state is, how the key is protected, logging, the control socket):
    /// these stay in agent.toml.
    public static let sections = ["spv", "plugins", "audit", "carrier", "mqtt"]

    /// Stored settings (`config.<section>.<key>` rows) as overrides, `section.key` to value text.
    public static func overrides(fromSettings rows: [(key: String, value: String)]) -> [String: String] {
        Dictionary(
            rows.filter { $0.key.hasPrefix(settingPrefix) }.map { (String($0.key.dropFirst(settingPrefix.count)), $0.value) },
            uniquingKeysWith: { first, _ in first })
    }

    /// The TOML value of `text`, or nil.
    static func value(_ text: String) -> TOMLValue? {
        (try? TOML.parse("v = " + text))?["v"]
    }

    /// `text` as a TOML value's text: as given when it is one (`3`, `true`, `"regnet"`, `["a", "b"]`), else quoted
    /// as a string (so `regnet` works too).
    public static func valueText(_ text: String) -> String {
        if value(text) != nil, !text.contains("\n") { return text }
        return TOML.basicString(text)
    }

    /// Why `key` cannot be set with `elactl config set`, or nil.
    public static func refusal(_ key: String) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty else { return "'\(key)' is not section.key (e.g. spv.confirmations)" }
        // Settings and the audit log are readable by the ela-agent group: a secret goes in a root-only file.
        if key == "mqtt.password" { return "a password is not kept in the settings: put it in a root-only file and set mqtt.password_file" }
        guard sections.contains(String(parts[0])) else {
            return "[\(parts[0])] is read before the agent's state opens: change it in agent.toml (sections set here: "
                + sections.joined(separator: ", ") + ")"
        }
        return nil
    }
}

/// The known name a mistyped one most likely meant: a config key, a plugin method, an event.
public enum Spelling {
    /// The name in `known` equal to `name` but for case, `_` and `-` (`retention_days` for `retentionDays`), else
    /// the nearest within a small edit distance (a typo: `port` for `prot`, `gpio.read` for `gpio.raed`), else nil.
    public static func closest(to name: String, among known: [String]) -> String? {
        let normalized = normalize(name)
        if let same = known.first(where: { normalize($0) == normalized }) { return same }
        // One edit per three characters, at most three: short names need a near match to be a suggestion.
        let limit = max(1, min(3, normalized.count / 3))
        let near = known.map { (name: $0, distance: distance(normalized, normalize($0))) }.filter { $0.distance <= limit }
        return near.min { ($0.distance, $0.name) < ($1.distance, $1.name) }?.name
    }

    /// For a name that is not among `known` (not empty): "did you mean 'gpio.read'?" when one is close, else
    /// "known methods: a, b" (`kind` says what the names are).
    public static func hint(for name: String, among known: [String], kind: String) -> String {
        if let close = closest(to: name, among: known) { return "did you mean '\(close)'?" }
        return "known \(kind): \(known.joined(separator: ", "))"
    }

    private static func normalize(_ name: String) -> [Character] {
        Array(name.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    /// Edit distance (Levenshtein), with a swap of neighbours counting as one edit.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var twoBack = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { current[j] = min(current[j], twoBack[j - 2] + 1) }
            }
            (twoBack, previous, current) = (previous, current, twoBack)
        }
        return previous[b.count]
    }
}

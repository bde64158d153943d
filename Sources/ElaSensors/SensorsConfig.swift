public import ElaJSON

/// The sensors plugin's configuration, from the host's `ela.hello` config object:
///
///     {"sysfs_root": "/sys", "simulate": false, "interval_ms": 1000,
///      "schedules": [{"match": "hwmon/*", "interval_ms": 5000}],
///      "sim_seed": 1, "sim_step_ms": 500, "rediscover_ms": 30000}
///
/// Every key is optional. Unknown keys are not fatal (the host may add board keys) but are reported in `warnings`.
public struct SensorsConfig: Sendable, Equatable {
    /// Where sysfs is mounted; ignored when `simulate` is true.
    public var sysfsRoot = "/sys"
    /// Create and animate a `SimulatedSysfs` tree under the state directory and read from it.
    public var simulate = false
    public var policy = PollingPolicy()
    /// Seed of the simulated values (same seed, same values).
    public var simulationSeed: UInt64 = 1
    /// How often the simulated tree is rewritten.
    public var simulationStepMs = 500
    /// How often the sensor set is re-scanned (hot-plugged 1-wire probes, drivers loaded late); 0 disables.
    public var rediscoverMs = 30_000
    /// Keys that were ignored, for the log.
    public var warnings: [String] = []

    public static let knownKeys: Set<String> = [
        "sysfs_root", "simulate", "interval_ms", "schedules", "sim_seed", "sim_step_ms", "rediscover_ms",
    ]

    public init() {}

    public init(json: JSONObject) throws(SensorsConfigError) {
        for key in json.keys.sorted() where !Self.knownKeys.contains(key) {
            warnings.append("unknown sensors config key '\(key)' ignored (known: \(Self.knownKeys.sorted().joined(separator: ", ")))")
        }
        if let v = json["sysfs_root"] {
            guard let s = v.stringValue, s.hasPrefix("/"), !s.contains("\0") else {
                throw SensorsConfigError(key: "sysfs_root", message: "must be an absolute path, found \(v.kindName)")
            }
            sysfsRoot = s.count > 1 && s.hasSuffix("/") ? String(s.dropLast()) : s
        }
        if let v = json["simulate"] {
            guard let b = v.boolValue else { throw SensorsConfigError(key: "simulate", message: "must be true or false, found \(v.kindName)") }
            simulate = b
        }
        if let v = json["interval_ms"] { policy.defaultIntervalMs = try Self.interval(v, key: "interval_ms") }
        if let v = json["schedules"] {
            guard let items = v.arrayValue else {
                throw SensorsConfigError(key: "schedules", message: "must be an array of {\"match\", \"interval_ms\"}, found \(v.kindName)")
            }
            for (i, item) in items.enumerated() {
                let key = "schedules[\(i)]"
                guard let o = item.objectValue, let match = o["match"]?.stringValue, !match.isEmpty, let iv = o["interval_ms"] else {
                    throw SensorsConfigError(key: key, message: "must be {\"match\": \"<sensor id or glob>\", \"interval_ms\": <ms>}")
                }
                policy.rules.append(PollingRule(match: match, intervalMs: try Self.interval(iv, key: key + ".interval_ms")))
            }
        }
        if let v = json["sim_seed"] {
            guard let n = v.numberValue?.int64Value, n >= 0 else {
                throw SensorsConfigError(key: "sim_seed", message: "must be a non-negative integer")
            }
            simulationSeed = UInt64(n)
        }
        if let v = json["sim_step_ms"] { simulationStepMs = try Self.interval(v, key: "sim_step_ms") }
        if let v = json["rediscover_ms"] {
            guard let n = v.numberValue?.int64Value, n == 0 || (1000...86_400_000).contains(n) else {
                throw SensorsConfigError(key: "rediscover_ms", message: "must be 0 (off) or 1000...86400000")
            }
            rediscoverMs = Int(n)
        }
    }

    static func interval(_ v: JSONValue, key: String) throws(SensorsConfigError) -> Int {
        let range = Int64(PollingPolicy.minimumIntervalMs)...Int64(PollingPolicy.maximumIntervalMs)
        guard let n = v.numberValue?.int64Value, range.contains(n) else {
            throw SensorsConfigError(
                key: key, message: "must be an integer number of milliseconds in \(range.lowerBound)...\(range.upperBound), found \(JSONWriter.compact(v))")
        }
        return Int(n)
    }
}

/// A config value that cannot be used, with its key.
public struct SensorsConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "sensors config '\(key)': \(message)" }
}

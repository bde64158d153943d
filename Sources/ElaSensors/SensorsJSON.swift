public import ElaJSON

// The JSON shapes of the plugin's methods and events (docs: Plugins/sensors/plugin.toml and the report).

extension SensorReading {
    /// `{"sensor", "kind", "value", "unit", "timestamp_ms"}`: the `sensors.reading` event params and a read result.
    public var json: JSONObject {
        JSONObject([
            ("sensor", .string(sensor)), ("kind", .string(kind.rawValue)), ("value", JSONNumber(value).map(JSONValue.number) ?? .null),
            ("unit", .string(unit)), ("timestamp_ms", .number(JSONNumber(timestampMs))),
        ])
    }
}

extension SensorFailure {
    /// `{"sensor", "code", "error"}`: `code` is `SensorError.code`, `error` the readable description.
    public var json: JSONObject {
        JSONObject([("sensor", .string(sensor)), ("code", .string(error.code)), ("error", .string(error.description))])
    }
}

extension Sensor {
    /// `{"id", "kind", "unit", "source", "path", "label"?, "interval_ms"}`.
    public func json(intervalMs: Int) -> JSONObject {
        var o = JSONObject([
            ("id", .string(id)), ("kind", .string(kind.rawValue)), ("unit", .string(unit)), ("source", .string(source.rawValue)),
            ("path", .string(path)),
        ])
        if let label { o["label"] = .string(label) }
        o["interval_ms"] = .number(JSONNumber(intervalMs))
        return o
    }
}

extension SensorsService {
    /// The `sensors.list` result: `{"sensors": [...], "problems": ["..."]}`.
    public func listJSON() -> JSONValue {
        .object(
            JSONObject([
                ("sensors", .array(sensors.map { .object($0.json(intervalMs: intervalMs(for: $0.id))) })),
                ("problems", .array(problems.map { .string($0.description) })),
            ]))
    }

    /// The `sensors.read` result: `{"readings": [...], "errors": [...]}`, for one sensor (`id`) or all (`nil`).
    /// Reading one sensor that fails throws (the caller asked for exactly that value); reading all reports each
    /// failure next to the readings that worked.
    public mutating func readJSON(id: String?) throws(SensorError) -> JSONValue {
        let readings: [SensorReading]
        let failures: [SensorFailure]
        if let id {
            readings = [try read(id: id)]
            failures = []
        } else {
            (readings, failures) = readAll()
        }
        return .object(
            JSONObject([
                ("readings", .array(readings.map { .object($0.json) })), ("errors", .array(failures.map { .object($0.json) })),
            ]))
    }
}

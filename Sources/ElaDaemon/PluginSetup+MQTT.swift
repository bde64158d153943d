import ElaConfig
import ElaFileSystem
import ElaJSON
import Logging

extension PluginSetup {
    /// The MQTT plugin's hello config from `[mqtt]`; a `password_file` is read here (the plugin's sandbox cannot).
    static func mqttConfig(_ settings: MQTTSettings?, logger: Logger) -> JSONObject {
        guard let settings else { return JSONObject() }
        var o = JSONObject()
        for (key, value) in settings.entries {
            switch value {
            case .string(let s): o[key] = .string(s)
            case .int(let i): o[key] = .number(JSONNumber(i))
            case .bool(let b): o[key] = .bool(b)
            case .strings(let a): o[key] = .array(a.map(JSONValue.string))
            }
        }
        if let file = settings.passwordFile {
            do {
                let text = try FileSystem.readText(file)
                o["password"] = .string(String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""))
            } catch {
                logger.error("mqtt.password_file unreadable; connecting without a password", metadata: ["error": "\(error)"])
            }
        }
        return o
    }
}

import ElaConfig
import ElaFileSystem
import ElaJSON
import Logging

extension PluginSetup {
    /// Largest TLS file handed over: the hello is one plugin frame (at most 1 MiB), and a CA file, certificate or key
    /// is a few KiB (Debian's whole CA bundle is ~220 KiB).
    static let tlsFileLimit = 256 << 10

    /// The MQTT plugin's hello config from `[mqtt]`. Files named there are read here, not by the plugin: its sandbox
    /// does not show /etc/ela-agent (or wherever the admin keeps them), and a client key is usually readable by root
    /// only. So `password_file` becomes `password`, and `ca_file`, `cert_file`, `key_file` become `ca_pem`,
    /// `cert_pem`, `key_pem`, which the plugin keeps as 0600 files in its own state directory. A named file that
    /// cannot be read becomes `tls_error`, and the plugin refuses to start with it: falling back to the system CAs
    /// would quietly widen whom the bridge trusts. Without `ca_file` the plugin uses the system CAs in /etc/ssl,
    /// which its manifest shows it read-only.
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
        let files: [(key: String, pem: String, path: String?)] = [
            ("ca_file", "ca_pem", settings.caFile), ("cert_file", "cert_pem", settings.certFile), ("key_file", "key_pem", settings.keyFile),
        ]
        for (key, pem, path) in files {
            o[key] = nil
            guard let path else { continue }
            do {
                o[pem] = .string(try FileSystem.readText(path, limit: tlsFileLimit))
            } catch {
                logger.error("mqtt.\(key) unreadable; the bridge will not start", metadata: ["file": "\(path)", "error": "\(error)"])
                if o["tls_error"] == nil { o["tls_error"] = .string("mqtt.\(key) \(path): \(error)") }
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

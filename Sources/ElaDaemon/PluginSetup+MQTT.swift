import ElaConfig
import ElaFileSystem
import ElaJSON
import Logging

extension PluginSetup {
    /// Where Debian keeps the system's trusted CAs, used for an `mqtts://` broker without `ca_file`.
    static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"

    /// The MQTT plugin's hello config from `[mqtt]`. Files are read here, not by the plugin: its sandbox shows neither
    /// /etc/ela-agent nor /etc/ssl, and a client key is usually readable by root only. So `password_file` becomes
    /// `password`, and `ca_file`, `cert_file`, `key_file` (or the system CA bundle for `mqtts://` without `ca_file`)
    /// become `ca_pem`, `cert_pem`, `key_pem`, which the plugin writes into its own state directory (0600).
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
        let tls = settings.broker?.hasPrefix("mqtts://") == true
        let files: [(key: String, pem: String, path: String?)] = [
            ("ca_file", "ca_pem", settings.caFile ?? (tls ? systemCABundle : nil)), ("cert_file", "cert_pem", settings.certFile),
            ("key_file", "key_pem", settings.keyFile),
        ]
        for (key, pem, path) in files {
            o[key] = nil
            guard let path else { continue }
            do {
                o[pem] = .string(try FileSystem.readText(path, limit: 4 << 20))
            } catch {
                // The plugin then fails its TLS handshake and says so in `mqtt status`; the log names the file.
                logger.error("mqtt.\(key) unreadable; the bridge cannot use it", metadata: ["file": "\(path)", "error": "\(error)"])
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

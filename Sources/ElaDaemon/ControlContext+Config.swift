import ElaConfig
import ElaControl
import ElaControlServer
import ElaGate
import ElaJSON
import ElaStorage

/// `elactl config show|set|unset`: settings over agent.toml, kept in the agent's database, applied at the next start.
extension ControlContext {
    var configMethods: [String: ControlHandler.Method] {
        let ctx = self
        return [
            "config.show": { _ throws(ControlError) in try ctx.configShow() },
            // Off the event loop: the change's audit row is synced to disk first.
            "config.set": offLoopMethod { params throws(ControlError) in try ctx.configSet(params, unset: false) },
            "config.unset": offLoopMethod { params throws(ControlError) in try ctx.configSet(params, unset: true) },
        ]
    }

    func storedOverrides(in transaction: StoreTransaction? = nil) throws -> [String: String] {
        let rows = try transaction.map { try store.settings(withPrefix: ConfigOverrides.settingPrefix, in: $0) }
            ?? store.settings(withPrefix: ConfigOverrides.settingPrefix)
        return ConfigOverrides.overrides(fromSettings: rows)
    }

    func configShow() throws(ControlError) -> JSONValue {
        let overrides: [String: String]
        do { overrides = try storedOverrides() } catch { throw ControlError(code: ControlError.internalError, message: "cannot read the settings: \(error)") }
        return .object([
            "file": .string(configPath),
            "overrides": .array(overrides.sorted { $0.key < $1.key }.map { .object(["key": .string($0.key), "value": .string($0.value)]) }),
            "sections": .array(ConfigOverrides.sections.map(JSONValue.string)),
            "ignoredAtStart": configOverridesIgnored.map(JSONValue.string) ?? .null,
        ])
    }

    /// `{"key": "section.key", "value": <TOML value text or a bare word>}`. Root only: these settings can point the
    /// agent at plugin folders and files it reads as root. Checked against the file as read at start with every other
    /// setting, and stored with its audit row, in one transaction (two changes at once cannot both pass the check).
    func configSet(_ params: JSONObject, unset: Bool) throws(ControlError) -> JSONValue {
        guard adminUID == 0 else {
            throw ControlError(code: ControlError.denied, message: "only root may change the agent's settings (sudo elactl config ...)")
        }
        guard let key = params["key"]?.stringValue else { throw ControlError(code: ControlError.invalidParams, message: "params.key is missing") }
        if let why = ConfigOverrides.refusal(key) { throw ControlError(code: ControlError.invalidParams, message: why) }
        let value: String?
        if unset {
            value = nil
        } else {
            guard let given = params["value"]?.stringValue else { throw ControlError(code: ControlError.invalidParams, message: "params.value is missing") }
            value = ConfigOverrides.valueText(given)
        }
        let name = ConfigOverrides.settingPrefix + key
        do {
            try gate.recordAdminAction(
                method: unset ? "config.unset" : "config.set", uid: adminUID, now: wallSeconds(),
                change: { tx throws -> Void in
                    var overrides = try storedOverrides(in: tx)
                    if let value {
                        overrides[key] = value
                    } else if overrides.removeValue(forKey: key) == nil {
                        throw ControlError(code: ControlError.notFound, message: "\(key) is not set with elactl config set")
                    }
                    do { _ = try AgentConfig.parse(configText, fileName: configPath, overrides: overrides) } catch {
                        throw ControlError(code: ControlError.invalidParams, message: "\(error)")
                    }
                    if let value { try store.setSetting(name, value, now: wallSeconds(), in: tx) } else { try store.removeSetting(name, in: tx) }
                },
                record: { _ in
                    (["key": .string(key), "value": value.map(JSONValue.string) ?? .null],
                     unset ? "config \(key) back to agent.toml's" : "config \(key) = \(value ?? "")")
                })
        } catch let error as ControlError {
            throw error
        } catch { throw ControlError(code: ControlError.internalError, message: "cannot store the setting: \(error)") }
        return .object(["key": .string(key), "value": value.map(JSONValue.string) ?? .null, "appliesAt": "the next start (sudo systemctl restart ela-agent)"])
    }
}

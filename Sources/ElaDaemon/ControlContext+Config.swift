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
            "config.set": { params throws(ControlError) in try ctx.configSet(params, unset: false) },
            "config.unset": { params throws(ControlError) in try ctx.configSet(params, unset: true) },
        ]
    }

    func storedOverrides() throws(ControlError) -> [String: String] {
        do {
            return Dictionary(
                try store.settings(withPrefix: ConfigOverrides.settingPrefix).map { (String($0.key.dropFirst(ConfigOverrides.settingPrefix.count)), $0.value) },
                uniquingKeysWith: { a, _ in a })
        } catch { throw ControlError(code: ControlError.internalError, message: "cannot read the settings: \(error)") }
    }

    func configShow() throws(ControlError) -> JSONValue {
        .object([
            "file": .string(configPath),
            "overrides": .array(try storedOverrides().sorted { $0.key < $1.key }.map { .object(["key": .string($0.key), "value": .string($0.value)]) }),
            "sections": .array(ConfigOverrides.sections.map(JSONValue.string)),
        ])
    }

    /// `{"key": "section.key", "value": <TOML value text or a bare word>}`; checked against the file as read at start
    /// with every other override, so a value the agent would refuse at its next start is refused now.
    func configSet(_ params: JSONObject, unset: Bool) throws(ControlError) -> JSONValue {
        guard let key = params["key"]?.stringValue else { throw ControlError(code: ControlError.invalidParams, message: "params.key is missing") }
        if let why = ConfigOverrides.refusal(key) { throw ControlError(code: ControlError.invalidParams, message: why) }
        var overrides = try storedOverrides()
        let value: String?
        if unset {
            guard overrides.removeValue(forKey: key) != nil else {
                throw ControlError(code: ControlError.notFound, message: "\(key) is not set with elactl config set")
            }
            value = nil
        } else {
            guard let given = params["value"]?.stringValue else { throw ControlError(code: ControlError.invalidParams, message: "params.value is missing") }
            value = ConfigOverrides.valueText(given)
            overrides[key] = value
        }
        do { _ = try AgentConfig.parse(configText, fileName: configPath, overrides: overrides) } catch {
            throw ControlError(code: ControlError.invalidParams, message: "\(error)")
        }
        do {
            try gate.recordAdminAction(
                method: unset ? "config.unset" : "config.set", params: ["key": .string(key), "value": value.map(JSONValue.string) ?? .null],
                reason: unset ? "config \(key) back to agent.toml's" : "config \(key) = \(value ?? "")", uid: adminUID, now: wallSeconds())
            let name = ConfigOverrides.settingPrefix + key
            if let value { try store.setSetting(name, value, now: wallSeconds()) } else { _ = try store.removeSetting(name) }
        } catch { throw ControlError(code: ControlError.internalError, message: "cannot store the setting: \(error)") }
        return .object(["key": .string(key), "value": value.map(JSONValue.string) ?? .null, "appliesAt": "the next start (sudo systemctl restart ela-agent)"])
    }
}

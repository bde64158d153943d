import ElaJSON

/// How one confinement layer came out.
public enum SandboxLayerState: String, Sendable, Equatable {
    /// Applied.
    case active
    /// Applied in part: this host lacks a piece of it (the detail names what); shown as a warning like `unavailable`.
    case partial
    /// This kernel or host lacks it (the detail says why); the plugin still runs, the daemon shows a warning.
    case unavailable
    /// Not wanted by the policy (for example `net_ns` when network is granted).
    case off
    /// An unexpected error; the launcher aborts (exit 125).
    case failed
}

/// One line of the launcher's report: `{"layer":"seccomp","state":"active","detail":"..."}`.
public struct SandboxLayer: Sendable, Equatable {
    public var name: String
    public var state: SandboxLayerState
    public var detail: String

    public init(name: String, state: SandboxLayerState, detail: String) {
        self.name = name
        self.state = state
        self.detail = detail
    }
}

/// The launcher's report: one JSON object per line on its report fd, which reaches EOF when the plugin execs
/// (or the launcher exits). Lines are `{"layer":..,"state":..,"detail":..}`, then `{"exec":PATH}` right before
/// execve, or `{"error":MESSAGE}` when a layer failed or execve did.
public struct SandboxReport: Sendable, Equatable {
    /// Every layer the launcher reports, in the order it applies them.
    public static let layerNames = [
        "cgroup", "pid_ns", "mount_ns", "ipc_ns", "uts_ns", "net_ns", "filesystem", "devices", "user", "no_new_privs",
        "landlock", "rlimits", "seccomp",
    ]

    public var layers: [SandboxLayer]
    /// Set once the launcher got as far as execve.
    public var execPath: String?
    /// Why the launch failed, if it did.
    public var error: String?

    public init(layers: [SandboxLayer] = [], execPath: String? = nil, error: String? = nil) {
        self.layers = layers
        self.execPath = execPath
        self.error = error
    }

    /// Parses the report text; blank lines are skipped, anything else malformed throws.
    public init(lines text: String) throws(SandboxReportError) {
        self.init()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop(while: { $0 == " " || $0 == "\r" })
            if trimmed.isEmpty { continue }
            let fail = { (reason: String) in SandboxReportError(line: number + 1, text: String(line), reason: reason) }
            let value: JSONValue
            do { value = try JSONParser.parse(String(line)) } catch { throw fail(error.description) }
            guard let object = value.objectValue else { throw fail("expected an object, found \(value.kindName)") }
            if let layer = object["layer"] {
                guard let name = layer.stringValue, !name.isEmpty else { throw fail("\"layer\" must be a name") }
                guard let stateText = object["state"]?.stringValue else { throw fail("\"state\" missing") }
                guard let state = SandboxLayerState(rawValue: stateText) else {
                    throw fail("unknown state \"\(stateText)\"")
                }
                let detail = object["detail"]
                guard detail == nil || detail?.stringValue != nil else { throw fail("\"detail\" must be a string") }
                layers.append(SandboxLayer(name: name, state: state, detail: detail?.stringValue ?? ""))
            } else if let exec = object["exec"] {
                guard let path = exec.stringValue else { throw fail("\"exec\" must be a path") }
                execPath = path
            } else if let message = object["error"] {
                guard let message = message.stringValue else { throw fail("\"error\" must be a string") }
                error = message
            } else {
                throw fail("expected \"layer\", \"exec\" or \"error\"")
            }
        }
    }

    /// The last report for the layer called `name`.
    public func layer(_ name: String) -> SandboxLayer? { layers.last { $0.name == name } }

    /// Layers the daemon should show as warnings: partial, unavailable or failed.
    public var warnings: [SandboxLayer] { layers.filter { $0.state == .partial || $0.state == .unavailable || $0.state == .failed } }

    /// Expected layers that were never reported (the launcher stopped early).
    public var missingLayers: [String] { Self.layerNames.filter { layer($0) == nil } }

    /// A one-line sandbox level for `elactl plugin list`: "13/13 active", or
    /// "11 active, 1 off (net_ns), 1 unavailable (landlock)".
    public var summary: String {
        let latest = Self.layerNames.compactMap(layer) + layers.filter { !Self.layerNames.contains($0.name) }
        let active = latest.filter { $0.state == .active }.count
        if active == latest.count, missingLayers.isEmpty { return "\(active)/\(latest.count) active" }
        var parts = ["\(active) active"]
        for state in [SandboxLayerState.off, .partial, .unavailable, .failed] {
            let names = latest.filter { $0.state == state }.map(\.name)
            if !names.isEmpty { parts.append("\(names.count) \(state.rawValue) (\(names.joined(separator: ", ")))") }
        }
        if !missingLayers.isEmpty {
            parts.append("\(missingLayers.count) not reported (\(missingLayers.joined(separator: ", ")))")
        }
        return parts.joined(separator: ", ")
    }
}

/// A report line that is not what the launcher writes.
public struct SandboxReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the report text.
    public var line: Int
    public var text: String
    public var reason: String

    public init(line: Int, text: String, reason: String) {
        self.line = line
        self.text = text
        self.reason = reason
    }

    public var description: String { "sandbox report line \(line): \(reason): \(text.prefix(200))" }
}

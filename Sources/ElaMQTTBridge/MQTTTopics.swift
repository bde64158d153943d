/// The topics of one device: `<prefix>/<did-id>/status` (retained online/offline), `.../events/<plugin>/<event>`,
/// inbound `.../cmd/<method>`, and `.../reply/<request-id>`. `<did-id>` is the DID without `did:elastos:`.
public struct MQTTTopics: Sendable, Equatable {
    public let prefix: String
    public let deviceID: String

    /// `prefix` may have several levels (`fleet/ela`); no wildcards, no empty levels.
    public init(prefix: String, deviceDID: String) throws(BridgeConfigError) {
        guard Self.isPlainPath(prefix) else {
            throw BridgeConfigError(key: "topic_prefix", message: "'\(prefix)' must be topic levels without + # or empty levels, e.g. \"ela\"")
        }
        let id = deviceDID.hasPrefix("did:elastos:") ? String(deviceDID.dropFirst("did:elastos:".count)) : deviceDID
        guard Self.isLevel(id) else { throw BridgeConfigError(key: "device", message: "'\(deviceDID)' is not a usable device DID") }
        self.prefix = prefix
        self.deviceID = id
    }

    public var base: String { prefix + "/" + deviceID }
    public var status: String { base + "/status" }
    /// What the bridge subscribes to for commands.
    public var commandFilter: String { base + "/cmd/+" }

    /// `sensors.reading` from plugin `sensors` -> `.../events/sensors/reading`; an event named outside its plugin's
    /// namespace keeps its full name as the last level.
    public func event(plugin: String, name: String) -> String {
        let short = name.hasPrefix(plugin + ".") ? String(name.dropFirst(plugin.count + 1)) : name
        return base + "/events/" + Self.sanitize(plugin) + "/" + Self.sanitize(short)
    }

    public func reply(_ requestID: String) -> String { base + "/reply/" + requestID }

    /// The method named by a command topic, or nil when the topic is not one of ours.
    public func commandMethod(_ topic: String) -> String? {
        let head = base + "/cmd/"
        guard topic.hasPrefix(head) else { return nil }
        let method = String(topic.dropFirst(head.count))
        return method.isEmpty || method.contains("/") ? nil : method
    }

    /// A reply id must be usable as one topic level: 1...64 of A-Z a-z 0-9 - _ . : .
    public static func isValidRequestID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || $0 == 0x3A }
    }

    static func isLevel(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && !s.utf8.contains { $0 == 0x2F || $0 == 0x2B || $0 == 0x23 || $0 < 0x20 }
    }

    static func isPlainPath(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 256 && s.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { isLevel(String($0)) }
    }

    /// Event and plugin names are already restricted by the manifests; this only guards the topic syntax.
    static func sanitize(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 == 0x2F || $0 == 0x2B || $0 == 0x23 ? 0x5F : $0 }, as: UTF8.self)
    }
}

/// How a client connects: protocol version, session, credentials, TLS, last will, socket and flow options.
/// Everything is applied before the first connect (libmosquitto takes most of it only then).
public struct MosquittoOptions: Sendable, Equatable {
    public enum ProtocolVersion: String, Sendable, Equatable {
        case v311 = "3.1.1"
        case v5 = "5"
    }

    /// Server verification and, optionally, a client certificate. Files are PEM; libmosquitto checks they can be read.
    public struct TLS: Sendable, Equatable {
        public var caFile: String?
        public var caPath: String?
        public var certFile: String?
        public var keyFile: String?
        /// Skips the server host name check (never for production; a warning in `mqtt status`).
        public var insecure = false

        public init(caFile: String? = nil, caPath: String? = nil, certFile: String? = nil, keyFile: String? = nil, insecure: Bool = false) {
            self.caFile = caFile
            self.caPath = caPath
            self.certFile = certFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// Published by the broker when the connection drops without a DISCONNECT.
    public struct Will: Sendable, Equatable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: Int32
        public var retain: Bool

        public init(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = true) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    /// nil lets libmosquitto pick a random id (needs `cleanSession`).
    public var clientID: String?
    public var cleanSession = true
    public var protocolVersion = ProtocolVersion.v311
    public var username: String?
    public var password: String?
    public var tls: TLS?
    public var will: Will?
    /// Disables Nagle's algorithm: small QoS 1 messages and their PUBACKs leave at once.
    public var tcpNoDelay = true
    public var keepaliveSeconds: Int32 = 30
    /// QoS 1/2 messages on the wire without PUBACK; more are queued inside libmosquitto.
    public var maxInflight: Int32 = 100

    public init() {}
}

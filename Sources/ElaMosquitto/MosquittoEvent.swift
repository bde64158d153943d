/// What the network loop reports, in the order it happened.
public enum MosquittoEvent: Sendable, Equatable {
    /// The broker answered CONNECT: `code` 0 is accepted; else the refusal (`reason` in words).
    case connected(code: Int32, reason: String)
    /// A TCP/TLS connect attempt failed before any CONNACK; the loop retries after the backoff delay.
    case connectFailed(MosquittoError, attempt: Int)
    /// The connection ended: `code` 0 means we asked for it, anything else is a loss (the loop reconnects).
    case disconnected(code: Int32)
    /// The broker acknowledged message `mid` (PUBACK for QoS 1; sent for QoS 0).
    case published(mid: Int32)
    case subscribed(mid: Int32, grantedQoS: [Int32])
    case message(MosquittoMessage)
}

/// A message the broker delivered to us. The payload is raw bytes: nothing says they are UTF-8.
public struct MosquittoMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: Int32, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

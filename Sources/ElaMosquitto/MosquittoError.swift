#if canImport(Glibc)
import Glibc
#endif
internal import CMosquitto

/// A libmosquitto call failed: which call, the library's code (`MOSQ_ERR_*`) and, for `MOSQ_ERR_ERRNO`, the errno.
public struct MosquittoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The library's result code (`MOSQ_ERR_*`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let noConnection = Code(rawValue: MOSQ_ERR_NO_CONN.rawValue)
        public static let connectionRefused = Code(rawValue: MOSQ_ERR_CONN_REFUSED.rawValue)
        public static let connectionLost = Code(rawValue: MOSQ_ERR_CONN_LOST.rawValue)
        public static let invalidArgument = Code(rawValue: MOSQ_ERR_INVAL.rawValue)
        public static let outOfMemory = Code(rawValue: MOSQ_ERR_NOMEM.rawValue)
        public static let protocolError = Code(rawValue: MOSQ_ERR_PROTOCOL.rawValue)
        public static let payloadTooLarge = Code(rawValue: MOSQ_ERR_PAYLOAD_SIZE.rawValue)
        public static let notSupported = Code(rawValue: MOSQ_ERR_NOT_SUPPORTED.rawValue)
        public static let tls = Code(rawValue: MOSQ_ERR_TLS.rawValue)
        public static let system = Code(rawValue: MOSQ_ERR_ERRNO.rawValue)
        public static let lookup = Code(rawValue: MOSQ_ERR_EAI.rawValue)
        public static let malformedUTF8 = Code(rawValue: MOSQ_ERR_MALFORMED_UTF8.rawValue)
        public var description: String { String(cString: mosquitto_strerror(rawValue)) }
    }

    public let code: Code
    /// The call that failed, e.g. `mosquitto_tls_set`.
    public let operation: String
    /// errno when `code` is `.system`, else 0.
    public let systemError: Int32
    /// What the caller was doing, in words a user can act on (file names, host:port).
    public let context: String

    public init(code: Code, operation: String, systemError: Int32 = 0, context: String = "") {
        self.code = code
        self.operation = operation
        self.systemError = systemError
        self.context = context
    }

    init(_ rc: Int32, _ operation: String, context: String = "") {
        self.init(code: Code(rawValue: rc), operation: operation, systemError: rc == MOSQ_ERR_ERRNO.rawValue ? errno : 0, context: context)
    }

    public var description: String {
        var text = "\(operation): \(code)"
        if code == .system, systemError != 0 { text += " (\(String(cString: strerror(systemError))))" }
        if !context.isEmpty { text += " [\(context)]" }
        return text
    }
}

/// Throws unless `rc` is `MOSQ_ERR_SUCCESS`.
@inline(__always)
func check(_ rc: Int32, _ operation: String, context: String = "") throws(MosquittoError) {
    guard rc == MOSQ_ERR_SUCCESS.rawValue else { throw MosquittoError(rc, operation, context: context) }
}

/// The broker's answer to CONNECT, in words (`mosquitto_connack_string` / `mosquitto_reason_string`).
func connackText(_ code: Int32, version5: Bool) -> String {
    if version5 { return String(cString: mosquitto_reason_string(code)) }
    return String(cString: mosquitto_connack_string(code))
}

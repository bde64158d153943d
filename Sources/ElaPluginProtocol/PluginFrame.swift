/// Plugin wire framing: a 4-byte big-endian length, then that many bytes of UTF-8 JSON (one JSON-RPC 2.0 object).
/// Documented in docs/plugin-protocol.md so plugins can be written in any language.
public enum PluginFraming {
    /// Default largest frame either side accepts; larger lengths are refused before buffering.
    public static let defaultMaxFrame = 1 << 20
    /// What the host adds around an event it relays to others (`ela.event` with epoch, seq, plugin, names, time): an
    /// event frame must leave this much of the frame limit free.
    public static let eventWrapperRoom = 1024

    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + payload
    }
}

/// Splits a byte stream into frame payloads: a value-type state machine (feed bytes, take payloads), no I/O.
/// An oversize length is an error after which the stream cannot be trusted (the peer is dropped).
public struct PluginFrameDecoder: Sendable {
    public let maxFrame: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrame: Int = PluginFraming.defaultMaxFrame) { self.maxFrame = maxFrame }

    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete payload, or nil if more bytes are needed.
    public mutating func next() throws(PluginProtocolError) -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        // As UInt32: on a 32-bit board (armhf) `Int(byte) << 24` turns negative for a first byte of 0x80 or more,
        // which would pass the size check.
        let length =
            UInt32(buffer[start]) << 24 | UInt32(buffer[start + 1]) << 16 | UInt32(buffer[start + 2]) << 8 | UInt32(buffer[start + 3])
        guard UInt64(length) <= UInt64(max(0, maxFrame)) else {
            throw PluginProtocolError(.frameTooLarge, "frame of \(length) bytes exceeds \(maxFrame)")
        }
        let n = Int(length)
        guard buffer.count - start - 4 >= n else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + n)])
        start += 4 + n
        return payload
    }
}

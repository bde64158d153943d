public import ElaWire
internal import Crypto

/// The 24-byte message header: magic u32 LE, command (12 bytes ASCII, NUL-padded), payload length u32 LE,
/// checksum (first 4 bytes of SHA256d(payload)). Bitcoin's layout; only the magic differs (spv.md 2.1).
public struct MessageFrame: Sendable, Equatable {
    public static let headerSize = 24
    /// ELA's limit on a payload.
    public static let maxPayload = 32 << 20

    public var command: String
    public var payload: [UInt8]

    public init(command: String, payload: [UInt8]) {
        self.command = command
        self.payload = payload
    }

    public func encoded(magic: UInt32) -> [UInt8] {
        var w = WireWriter(capacity: Self.headerSize + payload.count)
        w.writeUInt32(magic)
        var cmd = Array(command.utf8.prefix(12))
        cmd += [UInt8](repeating: 0, count: 12 - cmd.count)
        w.write(cmd)
        w.writeUInt32(UInt32(payload.count))
        w.write(Self.checksum(payload))
        w.write(payload)
        return w.bytes
    }

    static func checksum(_ payload: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: Array(SHA256.hash(data: payload))).prefix(4))
    }
}

/// Splits a TCP byte stream into frames: a value-type state machine (feed bytes, take frames), no I/O.
/// Any malformed header is an error after which the connection must be dropped (the stream is out of sync).
public struct FrameDecoder: Sendable {
    public let magic: UInt32
    public let maxPayload: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(magic: UInt32, maxPayload: Int = MessageFrame.maxPayload) {
        self.magic = magic
        self.maxPayload = maxPayload
    }

    public var bufferedBytes: Int { buffer.count - start }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start > buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil if more bytes are needed.
    public mutating func next() throws(P2PError) -> MessageFrame? {
        guard buffer.count - start >= MessageFrame.headerSize else { return nil }
        var r = WireReader(buffer[start..<start + MessageFrame.headerSize])
        do {
            let m = try r.readUInt32("magic")
            guard m == magic else { throw P2PError.badMagic(expected: magic, got: m) }
            let cmdBytes = try r.readBytes(12, "command")
            let command = try Self.command(cmdBytes)
            // Compared as read: past Int32.max, Int(length) would trap on a 32-bit board.
            let declared = try r.readUInt32("length")
            guard UInt64(declared) <= UInt64(maxPayload) else {
                throw P2PError.payloadTooLarge(command: command, length: Int(clamping: declared), limit: maxPayload)
            }
            let length = Int(declared)
            let checksum = try r.readBytes(4, "checksum")
            guard buffer.count - start >= MessageFrame.headerSize + length else { return nil }
            let payloadStart = start + MessageFrame.headerSize
            let payload = Array(buffer[payloadStart..<payloadStart + length])
            guard MessageFrame.checksum(payload) == checksum else { throw P2PError.badChecksum(command: command) }
            start = payloadStart + length
            return MessageFrame(command: command, payload: payload)
        } catch let e as P2PError {
            throw e
        } catch {
            throw P2PError.malformed(command: "header", error as? WireError ?? WireError(.invalid("\(error)"), offset: 0, field: "header"))
        }
    }

    static func command(_ bytes: [UInt8]) throws(P2PError) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        // NUL padding only after the name; the name is printable ASCII.
        guard end > 0, bytes[..<end].allSatisfy({ $0 > 0x20 && $0 < 0x7F }), bytes[end...].allSatisfy({ $0 == 0 }) else {
            throw P2PError.badCommand(bytes)
        }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

/// Why a peer's bytes were refused. Each one is a reason to score or disconnect the peer, never to crash.
public enum P2PError: Error, Sendable, Equatable, CustomStringConvertible {
    case badMagic(expected: UInt32, got: UInt32)
    case badCommand([UInt8])
    case payloadTooLarge(command: String, length: Int, limit: Int)
    case badChecksum(command: String)
    case malformed(command: String, WireError)
    case unexpected(String)

    public var description: String {
        switch self {
        case .badMagic(let e, let g): "wrong network magic \(g) (expected \(e))"
        case .badCommand(let b): "invalid command bytes \(b)"
        case .payloadTooLarge(let c, let l, let limit): "\(c): payload of \(l) bytes exceeds \(limit)"
        case .badChecksum(let c): "\(c): checksum mismatch"
        case .malformed(let c, let e): "\(c): \(e)"
        case .unexpected(let s): s
        }
    }
}

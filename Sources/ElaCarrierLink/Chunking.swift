/// Splitting messages into Tox messages and putting them back together.
///
/// A Tox message holds at most 1372 bytes, so a link message (a JSON text of up to ``ChunkCodec/maxMessageBytes``)
/// travels as chunks: `0xE1 | message id (u32 BE) | index (u16 BE) | count (u16 BE) | data`. Toxcore delivers a
/// friend's messages in order and without loss while the friend stays connected; when the link drops, partial
/// messages are discarded (``Reassembler/reset()``) and the session above starts over.
public enum ChunkCodec {
    public static let magic: UInt8 = 0xE1
    public static let headerBytes = 9
    /// Toxcore's `tox_max_message_length()`.
    public static let toxMessageBytes = 1372
    public static var dataBytesPerChunk: Int { toxMessageBytes - headerBytes }
    /// Largest message: 256 KiB (a big reply or a document).
    public static let maxMessageBytes = 256 * 1024
    public static var maxChunks: Int { (maxMessageBytes + dataBytesPerChunk - 1) / dataBytesPerChunk }

    /// The chunks of `message`, numbered `id`.
    public static func split(_ message: [UInt8], id: UInt32) throws(LinkError) -> [[UInt8]] {
        guard !message.isEmpty else { throw .emptyMessage }
        guard message.count <= maxMessageBytes else { throw .messageTooLarge(bytes: message.count, limit: maxMessageBytes) }
        let per = dataBytesPerChunk
        let count = (message.count + per - 1) / per
        var chunks: [[UInt8]] = []
        chunks.reserveCapacity(count)
        for index in 0..<count {
            let start = index * per
            let end = min(message.count, start + per)
            var chunk: [UInt8] = [magic]
            chunk.reserveCapacity(headerBytes + end - start)
            appendBE(&chunk, UInt64(id), bytes: 4)
            appendBE(&chunk, UInt64(index), bytes: 2)
            appendBE(&chunk, UInt64(count), bytes: 2)
            chunk += message[start..<end]
            chunks.append(chunk)
        }
        return chunks
    }

    /// A chunk's header fields, or why it is not a chunk.
    public static func header(_ chunk: [UInt8]) throws(LinkError) -> (id: UInt32, index: Int, count: Int) {
        guard chunk.count > headerBytes, chunk[0] == magic else { throw .notAChunk(bytes: chunk.count) }
        let id = UInt32(readBE(chunk, at: 1, bytes: 4))
        let index = Int(readBE(chunk, at: 5, bytes: 2))
        let count = Int(readBE(chunk, at: 7, bytes: 2))
        guard count >= 1, count <= maxChunks, index < count else { throw .badChunkNumbering(index: index, count: count) }
        return (id, index, count)
    }

    static func appendBE(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    static func readBE(_ b: [UInt8], at offset: Int, bytes: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<bytes { v = v << 8 | UInt64(b[offset + i]) }
        return v
    }
}

/// Why link data was refused.
public enum LinkError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyMessage
    case messageTooLarge(bytes: Int, limit: Int)
    case notAChunk(bytes: Int)
    case badChunkNumbering(index: Int, count: Int)
    /// Chunks of a message must arrive in order (toxcore keeps order on a live link).
    case outOfOrder(id: UInt32, expected: Int, got: Int)
    /// Too many messages half-received at once.
    case tooManyPartial(limit: Int)

    public var description: String {
        switch self {
        case .emptyMessage: "empty message"
        case .messageTooLarge(let bytes, let limit): "message of \(bytes) bytes exceeds the link limit of \(limit)"
        case .notAChunk(let bytes): "\(bytes)-byte Tox message is not a link chunk"
        case .badChunkNumbering(let index, let count): "chunk \(index) of \(count) is impossible"
        case .outOfOrder(let id, let expected, let got): "message \(id): expected chunk \(expected), got \(got)"
        case .tooManyPartial(let limit): "more than \(limit) messages half-received"
        }
    }
}

/// Puts one friend's chunks back together. Value type: the carrier keeps one per friend.
public struct Reassembler: Sendable {
    struct Partial: Sendable {
        var count: Int
        var next: Int
        var data: [UInt8]
        var startedAtMs: Int64
    }
    var partial: [UInt32: Partial] = [:]
    public let maxPartial: Int
    /// A message not completed within this long is dropped (the sender went quiet mid-message).
    public let timeoutMs: Int64

    public init(maxPartial: Int = 8, timeoutMs: Int64 = 60_000) {
        self.maxPartial = maxPartial
        self.timeoutMs = timeoutMs
    }

    /// Takes a chunk; returns the whole message when this was its last chunk. A refused chunk also drops its
    /// message's partial state.
    public mutating func accept(_ chunk: [UInt8], nowMs: Int64) throws(LinkError) -> [UInt8]? {
        expire(nowMs: nowMs)
        let (id, index, count) = try ChunkCodec.header(chunk)
        let data = chunk[ChunkCodec.headerBytes...]
        if count == 1 {
            partial[id] = nil
            return Array(data)
        }
        var p: Partial
        if let existing = partial[id] {
            p = existing
        } else {
            guard index == 0 else { throw .outOfOrder(id: id, expected: 0, got: index) }
            guard partial.count < maxPartial else { throw .tooManyPartial(limit: maxPartial) }
            p = Partial(count: count, next: 0, data: [], startedAtMs: nowMs)
        }
        guard p.count == count, p.next == index else {
            partial[id] = nil
            throw .outOfOrder(id: id, expected: p.next, got: index)
        }
        p.data += data
        p.next += 1
        if p.next == p.count {
            partial[id] = nil
            return p.data
        }
        partial[id] = p
        return nil
    }

    public mutating func expire(nowMs: Int64) {
        partial = partial.filter { nowMs - $0.value.startedAtMs < timeoutMs }
    }

    /// The link dropped: whatever was half-received is gone.
    public mutating func reset() { partial.removeAll() }

    public var pendingMessages: Int { partial.count }
}

/// Flow control for one friend: chunks wait in order; at most ``limit`` are sent without a read receipt.
/// Bursts over a TCP relay wedge toxcore's friend connection (reference/carrier.md B.4: 2000 unpaced messages
/// stalled for good; with at most 32 in flight they all went through), so the carrier never exceeds the window.
public struct SendWindow: Sendable {
    /// May change while messages are in flight (the link moved between UDP and a TCP relay); a smaller limit only
    /// holds back new chunks until enough receipts arrive.
    public var limit: Int
    var queue: [[UInt8]] = []
    var head = 0
    public private(set) var inFlight: Set<UInt32> = []
    /// Bytes waiting (not yet handed to toxcore), for back-pressure.
    public private(set) var queuedBytes = 0

    public init(limit: Int = 32) { self.limit = limit }

    public mutating func enqueue(_ chunks: [[UInt8]]) {
        queue += chunks
        queuedBytes += chunks.reduce(0) { $0 + $1.count }
    }

    /// The next chunk to hand to toxcore, if the window has room.
    public var next: [UInt8]? { inFlight.count < limit && head < queue.count ? queue[head] : nil }

    /// `next` went out as Tox message `id`.
    public mutating func sent(id: UInt32) {
        queuedBytes -= queue[head].count
        head += 1
        inFlight.insert(id)
        if head > 256 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    /// A read receipt: message `id` arrived.
    public mutating func receipt(id: UInt32) { inFlight.remove(id) }

    /// The link dropped: toxcore forgets what it had not delivered, so everything queued or in flight is gone.
    public mutating func reset() {
        queue.removeAll()
        head = 0
        inFlight.removeAll()
        queuedBytes = 0
    }

    public var waiting: Int { queue.count - head }
}

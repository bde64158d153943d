public import NIOCore

/// NIO glue around `FrameDecoder`: turns a peer's byte stream into `MessageFrame`s. A wrong magic, a bad
/// checksum or command, or more than `maxPayload` buffered bytes fails the channel (the peer is dropped).
public struct P2PFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = MessageFrame

    /// Neither the regtest node nor the SPV client needs more: `getdata`/`inv` at ELA's 50 000-item limit are 1.8 MB.
    public static let defaultMaxPayload = 4 << 20

    var frames: FrameDecoder
    let maxBuffered: Int

    public init(magic: UInt32, maxPayload: Int = Self.defaultMaxPayload) {
        frames = FrameDecoder(magic: magic, maxPayload: maxPayload)
        // One full frame plus one socket read that may follow it.
        maxBuffered = MessageFrame.headerSize + maxPayload + 64 * 1024
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if buffer.readableBytes > 0 {
            frames.append(buffer.readableBytesView)
            buffer.moveReaderIndex(to: buffer.writerIndex)
        }
        guard frames.bufferedBytes <= maxBuffered else {
            throw P2PError.unexpected("peer buffered \(frames.bufferedBytes) bytes without completing a frame")
        }
        // Every byte now lives in `frames`, so the handler will not call again until more arrive: pass on
        // every complete frame now.
        while let frame = try frames.next() { context.fireChannelRead(Self.wrapInboundOut(frame)) }
        return .needMoreData
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }
}

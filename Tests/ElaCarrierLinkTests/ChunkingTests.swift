import ElaCarrierLink
import ElaTestSupport
import Testing

@Suite struct ChunkingTests {
    func message(_ n: Int, seed: UInt64 = 7) -> [UInt8] {
        var r = SplitMix64(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: r.next()) }
    }

    @Test func chunksFitAToxMessageAndReassemble() throws {
        for size in [1, 1363, 1364, 5000, ChunkCodec.maxMessageBytes] {
            let m = message(size)
            let chunks = try ChunkCodec.split(m, id: 42)
            #expect(chunks.allSatisfy { $0.count <= ChunkCodec.toxMessageBytes })
            #expect(chunks.count == (size + 1362) / 1363)
            var r = Reassembler()
            var out: [UInt8]?
            for (i, c) in chunks.enumerated() {
                out = try r.accept(c, nowMs: 0)
                #expect((out == nil) == (i < chunks.count - 1))
            }
            #expect(out == m)
            #expect(r.pendingMessages == 0)
        }
    }

    @Test func interleavedMessagesReassembleSeparately() throws {
        let a = try ChunkCodec.split(message(3000, seed: 1), id: 1)
        let b = try ChunkCodec.split(message(3000, seed: 2), id: 2)
        var r = Reassembler()
        var done: [[UInt8]] = []
        for i in 0..<3 {
            if let m = try r.accept(a[i], nowMs: 0) { done.append(m) }
            if let m = try r.accept(b[i], nowMs: 0) { done.append(m) }
        }
        #expect(done == [message(3000, seed: 1), message(3000, seed: 2)])
    }

    @Test func badInputIsRefusedWithTypedErrors() throws {
        #expect(throws: LinkError.emptyMessage) { try ChunkCodec.split([], id: 1) }
        #expect(throws: LinkError.messageTooLarge(bytes: ChunkCodec.maxMessageBytes + 1, limit: ChunkCodec.maxMessageBytes)) {
            try ChunkCodec.split(message(ChunkCodec.maxMessageBytes + 1), id: 1)
        }
        var r = Reassembler()
        #expect(throws: LinkError.notAChunk(bytes: 5)) { try r.accept([1, 2, 3, 4, 5], nowMs: 0) }
        let chunks = try ChunkCodec.split(message(4000), id: 9)
        #expect(throws: LinkError.outOfOrder(id: 9, expected: 0, got: 1)) { try r.accept(chunks[1], nowMs: 0) }
        _ = try r.accept(chunks[0], nowMs: 0)
        #expect(throws: LinkError.outOfOrder(id: 9, expected: 1, got: 2)) { try r.accept(chunks[2], nowMs: 0) }
        #expect(r.pendingMessages == 0, "a broken message is dropped")
        var bogus = chunks[0]
        bogus[7] = 0
        bogus[8] = 0  // count 0
        #expect(throws: LinkError.badChunkNumbering(index: 0, count: 0)) { try r.accept(bogus, nowMs: 0) }
    }

    @Test func partialMessagesExpireAndAreBounded() throws {
        var r = Reassembler(maxPartial: 2, timeoutMs: 1000)
        for id in UInt32(1)...2 { _ = try r.accept(try ChunkCodec.split(message(2000), id: id)[0], nowMs: 0) }
        #expect(throws: LinkError.tooManyPartial(limit: 2)) { try r.accept(try ChunkCodec.split(message(2000), id: 3)[0], nowMs: 10) }
        _ = try r.accept(try ChunkCodec.split(message(2000), id: 3)[0], nowMs: 1500)
        #expect(r.pendingMessages == 1, "the two old ones expired")
        r.reset()
        #expect(r.pendingMessages == 0)
    }

    @Test func windowKeepsAtMost32InFlightUntilReceipts() throws {
        var w = SendWindow(limit: 32)
        w.enqueue(try ChunkCodec.split(message(100 * 1363), id: 1))
        var sent: [UInt32] = []
        var nextID: UInt32 = 0
        while w.next != nil {
            w.sent(id: nextID)
            sent.append(nextID)
            nextID += 1
        }
        #expect(sent.count == 32 && w.inFlight.count == 32 && w.waiting == 68)
        for id in sent.prefix(10) { w.receipt(id: id) }
        var more = 0
        while w.next != nil {
            w.sent(id: nextID)
            nextID += 1
            more += 1
        }
        #expect(more == 10 && w.inFlight.count == 32 && w.waiting == 58)
        w.receipt(id: 999)  // unknown receipts change nothing
        #expect(w.inFlight.count == 32)
        w.reset()
        #expect(w.next == nil && w.waiting == 0 && w.inFlight.isEmpty && w.queuedBytes == 0)
    }
}

public import ElaWire

extension BloomFilter {
    /// Bitcoin `filterload` payload: varbytes filter, nHashFuncs u32, nTweak u32, nFlags u8.
    public func filterloadPayload() -> [UInt8] {
        var writer = WireWriter(capacity: data.count + 12)
        writeFilterload(to: &writer)
        return writer.bytes
    }

    /// ELA `filterload` payload: the Bitcoin payload, then varuint count and one byte per transaction type
    /// (`ELA:p2p/msg/filterload.go`).
    public func elaFilterloadPayload(txTypes: [UInt8]) -> [UInt8] {
        var writer = WireWriter(capacity: data.count + 13 + txTypes.count)
        writeFilterload(to: &writer)
        writer.writeVarBytes(txTypes)
        return writer.bytes
    }

    /// ELA `filterload` payload with this filter's own `txTypes`.
    public func elaFilterloadPayload() -> [UInt8] { elaFilterloadPayload(txTypes: txTypes) }

    /// Decodes a Bitcoin `filterload` payload. Filters beyond Core's size limits (36 000 bytes, 50 hash
    /// functions) and trailing bytes are rejected. `txTypes` is empty.
    public init(filterloadPayload payload: [UInt8]) throws(WireError) {
        var reader = WireReader(payload)
        try self.init(filterloadFieldsFrom: &reader)
        try reader.expectEnd("filterload")
    }

    /// Decodes an ELA `filterload` payload into the filter and its `txTypes`. As ELA does, a payload that ends
    /// right after nFlags (older peers) has no transaction types, and an empty filter with hash functions is
    /// rejected.
    public init(elaFilterloadPayload payload: [UInt8]) throws(WireError) {
        var reader = WireReader(payload)
        try self.init(filterloadFieldsFrom: &reader)
        guard !(data.isEmpty && hashFunctions > 0) else {
            throw reader.error(.invalid("empty filter with \(hashFunctions) hash functions"), "filterload.filter")
        }
        if !reader.isAtEnd {
            txTypes = try reader.readVarBytes("filterload.txTypes", limit: PartialMerkleTree.bitcoinMaxVectorSize)
        }
        try reader.expectEnd("filterload")
    }

    private init(filterloadFieldsFrom reader: inout WireReader) throws(WireError) {
        let data = try reader.readVarBytes("filterload.filter", limit: UInt64(Self.maxFilterBytes))
        let functionsOffset = reader.offset
        let functions = try reader.readUInt32("filterload.nHashFuncs")
        guard functions <= Self.maxHashFunctions else {
            throw WireError(
                .tooLarge(what: "hash functions", value: UInt64(functions), limit: UInt64(Self.maxHashFunctions)),
                offset: functionsOffset, field: "filterload.nHashFuncs")
        }
        let tweak = try reader.readUInt32("filterload.nTweak")
        let flags = try reader.readUInt8("filterload.nFlags")
        self.init(data: data, hashFunctions: functions, tweak: tweak, flags: flags)
    }

    private func writeFilterload(to writer: inout WireWriter) {
        writer.writeVarBytes(data)
        writer.writeUInt32(hashFunctions)
        writer.writeUInt32(tweak)
        writer.writeUInt8(flags)
    }
}

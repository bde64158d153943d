public import ElaChain
public import ElaMerkle
public import ElaWire

/// `merkleblock`: the full ELA header (with AuxPoW), then the partial Merkle tree in ELA's layout (u32 hash count).
public struct MerkleBlockMessage: Sendable, Equatable {
    public var header: ELAHeader
    public var tree: PartialMerkleTree

    public init(header: ELAHeader, tree: PartialMerkleTree) {
        self.header = header
        self.tree = tree
    }
}

/// Every message an SPV client or our regtest node exchanges; anything else is kept raw as `.other`.
public enum P2PMessage: Sendable, Equatable {
    case version(VersionMessage)
    case verack
    case ping(nonce: UInt64)
    case pong(nonce: UInt64)
    case getblocks(locator: [Hash256], stop: Hash256)
    case inv([InventoryVector])
    case getdata([InventoryVector])
    case notfound([InventoryVector])
    case merkleblock(MerkleBlockMessage)
    case tx([UInt8])
    /// ELA's `filterload`: BIP37 fields, then the transaction types to match (`BloomFilter.txTypes`).
    case filterload(BloomFilter)
    case filterclear
    case mempool
    case getaddr
    case reject(RejectMessage)
    case other(command: String, payload: [UInt8])

    public var command: String {
        switch self {
        case .version: "version"
        case .verack: "verack"
        case .ping: "ping"
        case .pong: "pong"
        case .getblocks: "getblocks"
        case .inv: "inv"
        case .getdata: "getdata"
        case .notfound: "notfound"
        case .merkleblock: "merkleblock"
        case .tx: "tx"
        case .filterload: "filterload"
        case .filterclear: "filterclear"
        case .mempool: "mempool"
        case .getaddr: "getaddr"
        case .reject: "reject"
        case .other(let c, _): c
        }
    }

    public func frame() -> MessageFrame { MessageFrame(command: command, payload: payload()) }

    public func encoded(magic: UInt32) -> [UInt8] { frame().encoded(magic: magic) }

    func payload() -> [UInt8] {
        var w = WireWriter()
        switch self {
        case .version(let v): v.write(to: &w)
        case .verack, .filterclear, .mempool, .getaddr: break
        case .ping(let n), .pong(let n): w.writeUInt64(n)
        case .getblocks(let locator, let stop):
            w.writeUInt32(UInt32(locator.count))
            for h in locator { w.writeHash(h) }
            w.writeHash(stop)
        case .inv(let items), .getdata(let items), .notfound(let items):
            w.writeUInt32(UInt32(items.count))
            for item in items {
                w.writeUInt32(item.kind.rawValue)
                w.writeHash(item.hash)
            }
        case .merkleblock(let m):
            m.header.write(to: &w, withAuxPow: true)
            m.tree.writeELA(to: &w)
        case .tx(let raw): w.write(raw)
        case .filterload(let f): w.write(f.elaFilterloadPayload())
        case .reject(let r):
            w.writeVarString(r.command)
            w.writeUInt8(r.code)
            w.writeVarString(r.reason)
            w.writeHash(r.hash)
        case .other(_, let payload): w.write(payload)
        }
        return w.bytes
    }

    /// Decodes a frame's payload; a payload that does not match its command's layout exactly is an error.
    public init(frame: MessageFrame) throws(P2PError) {
        var r = WireReader(frame.payload)
        do throws(WireError) {
            switch frame.command {
            case "version": self = .version(try VersionMessage(&r))
            case "verack": self = .verack
            case "filterclear": self = .filterclear
            case "mempool": self = .mempool
            case "getaddr": self = .getaddr
            case "ping": self = .ping(nonce: try r.readUInt64("ping.nonce"))
            case "pong": self = .pong(nonce: try r.readUInt64("pong.nonce"))
            case "getblocks":
                let n = try r.readCount("getblocks.count", limit: UInt64(P2PLimits.maxBlockLocatorHashes), elementSize: 32, varInt: false)
                var locator: [Hash256] = []
                locator.reserveCapacity(n)
                for _ in 0..<n { locator.append(try r.readHash("getblocks.locator")) }
                self = .getblocks(locator: locator, stop: try r.readHash("getblocks.stop"))
            case "inv": self = .inv(try Self.inventory(&r, "inv"))
            case "getdata": self = .getdata(try Self.inventory(&r, "getdata"))
            case "notfound": self = .notfound(try Self.inventory(&r, "notfound"))
            case "merkleblock":
                let header = try ELAHeader(reader: &r, withAuxPow: true)
                self = .merkleblock(MerkleBlockMessage(header: header, tree: try PartialMerkleTree(elaReader: &r)))
            case "tx":
                guard frame.payload.count <= P2PLimits.maxTransactionBytes else {
                    throw r.error(.tooLarge(what: "transaction", value: UInt64(frame.payload.count), limit: UInt64(P2PLimits.maxTransactionBytes)), "tx")
                }
                self = .tx(frame.payload)
                return
            case "filterload":
                self = .filterload(try BloomFilter(elaFilterloadPayload: frame.payload))
                return
            case "reject":
                let command = try r.readVarString("reject.command", limit: 12)
                let code = try r.readUInt8("reject.code")
                let reason = try r.readVarString("reject.reason", limit: 1024)
                let hash = r.isAtEnd ? Hash256.zero : try r.readHash("reject.hash")
                self = .reject(RejectMessage(command: command, code: code, reason: reason, hash: hash))
            default:
                self = .other(command: frame.command, payload: frame.payload)
                return
            }
            try r.expectEnd(frame.command)
        } catch {
            throw P2PError.malformed(command: frame.command, error)
        }
    }

    static func inventory(_ r: inout WireReader, _ name: String) throws(WireError) -> [InventoryVector] {
        let n = try r.readCount("\(name).count", limit: UInt64(P2PLimits.maxInventory), elementSize: 36, varInt: false)
        var items: [InventoryVector] = []
        items.reserveCapacity(n)
        for _ in 0..<n {
            let raw = try r.readUInt32("\(name).type")
            guard let kind = InventoryVector.Kind(rawValue: raw) else {
                throw r.error(.invalid("unknown inventory type \(raw)"), "\(name).type")
            }
            items.append(InventoryVector(kind, try r.readHash("\(name).hash")))
        }
        return items
    }
}

public import ElaWire

/// `version` (spv.md 2.2): no address fields, 32-bit timestamp, `nodeVersion` only from protocol 80000.
public struct VersionMessage: Sendable, Equatable {
    public var version: UInt32
    public var services: UInt64
    public var timestamp: UInt32
    public var port: UInt16
    public var nonce: UInt64
    public var height: UInt64
    public var relay: Bool
    public var nodeVersion: String?

    public static let crProposalVersion: UInt32 = 80000
    /// SPV support starts here (EBIP001).
    public static let spvVersion: UInt32 = 10001

    public init(
        version: UInt32, services: UInt64, timestamp: UInt32, port: UInt16, nonce: UInt64, height: UInt64, relay: Bool,
        nodeVersion: String? = nil
    ) {
        self.version = version
        self.services = services
        self.timestamp = timestamp
        self.port = port
        self.nonce = nonce
        self.height = height
        self.relay = relay
        self.nodeVersion = nodeVersion
    }

    init(_ r: inout WireReader) throws(WireError) {
        version = try r.readUInt32("version.version")
        services = try r.readUInt64("version.services")
        timestamp = try r.readUInt32("version.timestamp")
        port = try r.readUInt16("version.port")
        nonce = try r.readUInt64("version.nonce")
        height = try r.readUInt64("version.height")
        let relayByte = try r.readUInt8("version.relay")
        guard relayByte <= 1 else { throw r.error(.invalid("relay must be 0 or 1"), "version.relay") }
        relay = relayByte == 1
        nodeVersion = version >= Self.crProposalVersion && !r.isAtEnd ? try r.readVarString("version.nodeVersion", limit: 256) : nil
    }

    func write(to w: inout WireWriter) {
        w.writeUInt32(version)
        w.writeUInt64(services)
        w.writeUInt32(timestamp)
        w.writeUInt16(port)
        w.writeUInt64(nonce)
        w.writeUInt64(height)
        w.writeUInt8(relay ? 1 : 0)
        if version >= Self.crProposalVersion { w.writeVarString(nodeVersion ?? "") }
    }
}

public struct InventoryVector: Sendable, Hashable {
    public enum Kind: UInt32, Sendable {
        case error = 0, transaction = 1, block = 2, filteredBlock = 3, confirmedBlock = 4, address = 5
    }

    public var kind: Kind
    public var hash: Hash256

    public init(_ kind: Kind, _ hash: Hash256) {
        self.kind = kind
        self.hash = hash
    }
}

public struct RejectMessage: Sendable, Equatable {
    public var command: String
    public var code: UInt8
    public var reason: String
    public var hash: Hash256

    public init(command: String, code: UInt8, reason: String, hash: Hash256 = .zero) {
        self.command = command
        self.code = code
        self.reason = reason
        self.hash = hash
    }
}

/// Limits from ELA's p2p/msg package.
public enum P2PLimits {
    public static let maxBlockLocatorHashes = 500
    public static let maxInventory = 50_000
    public static let maxTransactionBytes = 8 << 20
}

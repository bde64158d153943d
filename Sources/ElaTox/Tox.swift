// SPDX-License-Identifier: GPL-3.0-or-later
// Thin typed binding over libtoxcore (GPL-3.0-or-later). Only the `ela-carrier` program links this module, so the
// GPL stays with that one program (Packaging/LICENSES.md).
internal import CToxcore

/// A friend link's or our own connection to the Tox network.
public enum ToxConnection: String, Sendable, Equatable {
    case none, tcp, udp

    init(_ c: Tox_Connection) {
        switch c {
        case TOX_CONNECTION_TCP: self = .tcp
        case TOX_CONNECTION_UDP: self = .udp
        default: self = .none
        }
    }

    public var isOnline: Bool { self != .none }
}

/// What happened during one `iterate()`: collected inside toxcore's callbacks, returned afterwards.
public enum ToxEvent: Sendable, Equatable {
    case selfConnection(ToxConnection)
    case friendRequest(publicKey: [UInt8], message: [UInt8])
    case friendConnection(friend: UInt32, ToxConnection)
    case friendMessage(friend: UInt32, [UInt8])
    case readReceipt(friend: UInt32, messageID: UInt32)
    /// A lossless custom packet (first byte 160-191), used by the benchmark's raw baseline.
    case losslessPacket(friend: UInt32, [UInt8])
}

/// A libtoxcore call that failed: the operation and toxcore's error code (see tox.h's `Tox_Err_*`).
public struct ToxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let operation: String
    public let code: UInt32
    public let meaning: String

    public init(_ operation: String, code: UInt32, meaning: String) {
        self.operation = operation
        self.code = code
        self.meaning = meaning
    }

    public var description: String { "\(operation) failed: \(meaning) (toxcore error \(code))" }
}

/// How to create the instance.
public struct ToxOptions: Sendable {
    public var udpEnabled = true
    public var localDiscoveryEnabled = false
    public var ipv6Enabled = false
    /// Our identity: the 32-byte secret key (nil: a new random identity).
    public var secretKey: [UInt8]?
    /// Local UDP port range (0...0 lets toxcore pick in its default range).
    public var startPort: UInt16 = 0
    public var endPort: UInt16 = 0

    public init() {}
}

/// Receives toxcore's callbacks during `tox_iterate` (passed as its user data).
final class EventBuffer {
    var events: [ToxEvent] = []
}

/// One Tox instance. Not thread-safe (toxcore is not, without its experimental locking): create, iterate and call it
/// from one thread only. The owner runs the loop: `iterate()`, then sleep `iterationInterval` (or shorter while
/// traffic flows).
public final class Tox {
    let handle: OpaquePointer
    let buffer = EventBuffer()

    public static var addressSize: Int { Int(tox_address_size()) }
    public static var publicKeySize: Int { Int(tox_public_key_size()) }
    public static var secretKeySize: Int { Int(tox_secret_key_size()) }
    public static var maxMessageLength: Int { Int(tox_max_message_length()) }
    public static var maxFriendRequestLength: Int { Int(tox_max_friend_request_length()) }
    public static var version: String { "\(tox_version_major()).\(tox_version_minor()).\(tox_version_patch())" }

    public init(_ options: ToxOptions) throws(ToxError) {
        var err = TOX_ERR_OPTIONS_NEW_OK
        guard let o = tox_options_new(&err) else { throw ToxError("tox_options_new", code: err.rawValue, meaning: "out of memory") }
        defer { tox_options_free(o) }
        tox_options_set_udp_enabled(o, options.udpEnabled)
        tox_options_set_local_discovery_enabled(o, options.localDiscoveryEnabled)
        tox_options_set_ipv6_enabled(o, options.ipv6Enabled)
        tox_options_set_start_port(o, options.startPort)
        tox_options_set_end_port(o, options.endPort)
        var newError = TOX_ERR_NEW_OK
        let created: OpaquePointer?
        if let key = options.secretKey {
            guard key.count == Self.secretKeySize else {
                throw ToxError("tox_new", code: 0, meaning: "secret key must be \(Self.secretKeySize) bytes, got \(key.count)")
            }
            tox_options_set_savedata_type(o, TOX_SAVEDATA_TYPE_SECRET_KEY)
            created = key.withUnsafeBufferPointer { p in
                tox_options_set_savedata_data(o, p.baseAddress, p.count)
                return tox_new(o, &newError)
            }
        } else {
            created = tox_new(o, &newError)
        }
        guard let created, newError == TOX_ERR_NEW_OK else {
            throw ToxError("tox_new", code: newError.rawValue, meaning: Self.newErrorMeaning(newError))
        }
        handle = created
        registerCallbacks()
    }

    deinit { tox_kill(handle) }

    static func newErrorMeaning(_ e: Tox_Err_New) -> String {
        switch e {
        case TOX_ERR_NEW_PORT_ALLOC: "no free UDP port in the range"
        case TOX_ERR_NEW_PROXY_BAD_HOST, TOX_ERR_NEW_PROXY_BAD_PORT, TOX_ERR_NEW_PROXY_NOT_FOUND: "bad proxy settings"
        case TOX_ERR_NEW_LOAD_BAD_FORMAT, TOX_ERR_NEW_LOAD_ENCRYPTED: "savedata unreadable"
        case TOX_ERR_NEW_MALLOC: "out of memory"
        default: "error"
        }
    }

    private func registerCallbacks() {
        tox_callback_self_connection_status(handle) { _, status, user in
            guard let user else { return }
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(.selfConnection(ToxConnection(status)))
        }
        tox_callback_friend_request(handle) { _, key, message, length, user in
            guard let user, let key else { return }
            let pk = Array(UnsafeBufferPointer(start: key, count: Tox.publicKeySize))
            let text = message.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(.friendRequest(publicKey: pk, message: text))
        }
        tox_callback_friend_connection_status(handle) { _, friend, status, user in
            guard let user else { return }
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(
                .friendConnection(friend: friend, ToxConnection(status)))
        }
        tox_callback_friend_message(handle) { _, friend, _, message, length, user in
            guard let user else { return }
            let bytes = message.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(.friendMessage(friend: friend, bytes))
        }
        tox_callback_friend_lossless_packet(handle) { _, friend, data, length, user in
            guard let user else { return }
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(.losslessPacket(friend: friend, bytes))
        }
        tox_callback_friend_read_receipt(handle) { _, friend, id, user in
            guard let user else { return }
            Unmanaged<EventBuffer>.fromOpaque(user).takeUnretainedValue().events.append(.readReceipt(friend: friend, messageID: id))
        }
    }

    // MARK: the loop

    /// Runs toxcore once and returns what its callbacks reported, in order.
    public func iterate() -> [ToxEvent] {
        tox_iterate(handle, Unmanaged.passUnretained(buffer).toOpaque())
        defer { buffer.events.removeAll(keepingCapacity: true) }
        return buffer.events
    }

    /// How long toxcore wants to sleep between iterations (50 ms in 0.2.18).
    public var iterationIntervalMs: Int { Int(tox_iteration_interval(handle)) }

    // MARK: self

    /// The 38-byte address: public key, nospam, checksum.
    public var address: [UInt8] {
        var a = [UInt8](repeating: 0, count: Self.addressSize)
        a.withUnsafeMutableBufferPointer { tox_self_get_address(handle, $0.baseAddress) }
        return a
    }

    public var publicKey: [UInt8] {
        var k = [UInt8](repeating: 0, count: Self.publicKeySize)
        k.withUnsafeMutableBufferPointer { tox_self_get_public_key(handle, $0.baseAddress) }
        return k
    }

    public var secretKey: [UInt8] {
        var k = [UInt8](repeating: 0, count: Self.secretKeySize)
        k.withUnsafeMutableBufferPointer { tox_self_get_secret_key(handle, $0.baseAddress) }
        return k
    }

    /// The nospam part of the address: changing it changes the address (old friend requests stop working), not the key.
    public var nospam: UInt32 {
        get { tox_self_get_nospam(handle) }
        set { tox_self_set_nospam(handle, newValue) }
    }

    public var connection: ToxConnection { ToxConnection(tox_self_get_connection_status(handle)) }

    /// Our UDP port (nil with UDP off).
    public var udpPort: UInt16? {
        var err = TOX_ERR_GET_PORT_OK
        let port = tox_self_get_udp_port(handle, &err)
        return err == TOX_ERR_GET_PORT_OK ? port : nil
    }

    // MARK: network

    /// Adds a DHT bootstrap node (`publicKey`: its 32-byte DHT key).
    public func bootstrap(host: String, port: UInt16, publicKey: [UInt8]) throws(ToxError) {
        var err = TOX_ERR_BOOTSTRAP_OK
        let ok = publicKey.withUnsafeBufferPointer { tox_bootstrap(handle, host, port, $0.baseAddress, &err) }
        guard ok, publicKey.count == Self.publicKeySize else {
            throw ToxError("tox_bootstrap \(host):\(port)", code: err.rawValue, meaning: Self.bootstrapMeaning(err, publicKey.count))
        }
    }

    /// Adds a TCP relay (the way out when UDP is off or blocked).
    public func addTCPRelay(host: String, port: UInt16, publicKey: [UInt8]) throws(ToxError) {
        var err = TOX_ERR_BOOTSTRAP_OK
        let ok = publicKey.withUnsafeBufferPointer { tox_add_tcp_relay(handle, host, port, $0.baseAddress, &err) }
        guard ok, publicKey.count == Self.publicKeySize else {
            throw ToxError("tox_add_tcp_relay \(host):\(port)", code: err.rawValue, meaning: Self.bootstrapMeaning(err, publicKey.count))
        }
    }

    static func bootstrapMeaning(_ e: Tox_Err_Bootstrap, _ keyLength: Int) -> String {
        if keyLength != publicKeySize { return "key must be \(publicKeySize) bytes, got \(keyLength)" }
        switch e {
        case TOX_ERR_BOOTSTRAP_BAD_HOST: return "host does not resolve"
        case TOX_ERR_BOOTSTRAP_BAD_PORT: return "bad port"
        default: return "error"
        }
    }

    // MARK: friends

    /// Sends a friend request carrying `message` (at most `maxFriendRequestLength` bytes) to a 38-byte address.
    public func addFriend(address: [UInt8], message: [UInt8]) throws(ToxError) -> UInt32 {
        var err = TOX_ERR_FRIEND_ADD_OK
        let n = address.withUnsafeBufferPointer { a in
            message.withUnsafeBufferPointer { m in tox_friend_add(handle, a.baseAddress, m.baseAddress, m.count, &err) }
        }
        guard err == TOX_ERR_FRIEND_ADD_OK, address.count == Self.addressSize else {
            throw ToxError("tox_friend_add", code: err.rawValue, meaning: Self.friendAddMeaning(err))
        }
        return n
    }

    /// Adds a friend by public key without a request (accepting one, or restoring a friend list).
    public func addFriendNoRequest(publicKey: [UInt8]) throws(ToxError) -> UInt32 {
        if let existing = friend(publicKey: publicKey) { return existing }
        var err = TOX_ERR_FRIEND_ADD_OK
        let n = publicKey.withUnsafeBufferPointer { tox_friend_add_norequest(handle, $0.baseAddress, &err) }
        guard err == TOX_ERR_FRIEND_ADD_OK, publicKey.count == Self.publicKeySize else {
            throw ToxError("tox_friend_add_norequest", code: err.rawValue, meaning: Self.friendAddMeaning(err))
        }
        return n
    }

    static func friendAddMeaning(_ e: Tox_Err_Friend_Add) -> String {
        switch e {
        case TOX_ERR_FRIEND_ADD_TOO_LONG: "message too long"
        case TOX_ERR_FRIEND_ADD_NO_MESSAGE: "empty message"
        case TOX_ERR_FRIEND_ADD_OWN_KEY: "that is our own key"
        case TOX_ERR_FRIEND_ADD_ALREADY_SENT: "already a friend"
        case TOX_ERR_FRIEND_ADD_BAD_CHECKSUM: "bad address checksum"
        case TOX_ERR_FRIEND_ADD_SET_NEW_NOSPAM: "friend known with another nospam"
        case TOX_ERR_FRIEND_ADD_MALLOC: "out of memory"
        default: "error"
        }
    }

    public func deleteFriend(_ friend: UInt32) {
        var err = TOX_ERR_FRIEND_DELETE_OK
        _ = tox_friend_delete(handle, friend, &err)
    }

    public func friend(publicKey: [UInt8]) -> UInt32? {
        guard publicKey.count == Self.publicKeySize else { return nil }
        var err = TOX_ERR_FRIEND_BY_PUBLIC_KEY_OK
        let n = publicKey.withUnsafeBufferPointer { tox_friend_by_public_key(handle, $0.baseAddress, &err) }
        return err == TOX_ERR_FRIEND_BY_PUBLIC_KEY_OK ? n : nil
    }

    public func publicKey(ofFriend friend: UInt32) -> [UInt8]? {
        var k = [UInt8](repeating: 0, count: Self.publicKeySize)
        var err = TOX_ERR_FRIEND_GET_PUBLIC_KEY_OK
        let ok = k.withUnsafeMutableBufferPointer { tox_friend_get_public_key(handle, friend, $0.baseAddress, &err) }
        return ok ? k : nil
    }

    public func connection(ofFriend friend: UInt32) -> ToxConnection {
        var err = TOX_ERR_FRIEND_QUERY_OK
        return ToxConnection(tox_friend_get_connection_status(handle, friend, &err))
    }

    /// The friend numbers in use.
    public var friends: [UInt32] {
        let count = tox_self_get_friend_list_size(handle)
        var list = [UInt32](repeating: 0, count: count)
        list.withUnsafeMutableBufferPointer { tox_self_get_friend_list(handle, $0.baseAddress) }
        return list
    }

    /// Sends a lossless custom packet (first byte 160-191); false when toxcore's queue is full (retry later).
    public func sendLosslessPacket(friend: UInt32, _ bytes: [UInt8]) -> Bool {
        var err = TOX_ERR_FRIEND_CUSTOM_PACKET_OK
        return bytes.withUnsafeBufferPointer { tox_friend_send_lossless_packet(handle, friend, $0.baseAddress, $0.count, &err) }
    }

    /// Queues a message (at most `maxMessageLength` bytes); the id comes back in a `readReceipt` once the friend
    /// has it.
    public func sendMessage(friend: UInt32, _ bytes: [UInt8]) throws(ToxError) -> UInt32 {
        var err = TOX_ERR_FRIEND_SEND_MESSAGE_OK
        let id = bytes.withUnsafeBufferPointer { tox_friend_send_message(handle, friend, TOX_MESSAGE_TYPE_NORMAL, $0.baseAddress, $0.count, &err) }
        guard err == TOX_ERR_FRIEND_SEND_MESSAGE_OK else {
            let meaning: String =
                switch err {
                case TOX_ERR_FRIEND_SEND_MESSAGE_FRIEND_NOT_FOUND: "no such friend"
                case TOX_ERR_FRIEND_SEND_MESSAGE_FRIEND_NOT_CONNECTED: "friend offline"
                case TOX_ERR_FRIEND_SEND_MESSAGE_SENDQ: "send queue full"
                case TOX_ERR_FRIEND_SEND_MESSAGE_TOO_LONG: "message too long"
                case TOX_ERR_FRIEND_SEND_MESSAGE_EMPTY: "empty message"
                default: "error"
                }
            throw ToxError("tox_friend_send_message", code: err.rawValue, meaning: meaning)
        }
        return id
    }
}

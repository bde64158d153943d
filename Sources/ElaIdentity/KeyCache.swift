internal import ElaCrypto
import Synchronization

/// Decoded public keys and their addresses, by `publicKeyBase58`. Decompressing a P-256 point costs about as much
/// as a third of a signature check, and a device sees the same few DIDs (owner, paired DApps) over and over.
/// Bounded; entries are immutable facts about a string, so a cached answer is never stale.
final class KeyCache: Sendable {
    static let shared = KeyCache(capacity: 1024)

    private struct Entry {
        var key: ElaPublicKey?
        var address: String?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The validated key, or nil when the text is not a P-256 point.
    func publicKey(_ base58: String) -> ElaPublicKey? {
        if let hit = entries.withLock({ $0[base58]?.key }) { return hit }
        guard let key = try? ElaPublicKey(base58: base58) else { return nil }
        store(base58) { $0.key = key }
        return key
    }

    /// The DID method-specific id the key derives to (no curve check; see `ElaAddress.identifier(compressedKey:)`).
    func address(_ base58: String) -> String? {
        if let hit = entries.withLock({ $0[base58]?.address }) { return hit }
        guard let bytes = try? Base58.decode(base58, maxLength: 64), let address = ElaAddress.identifier(compressedKey: bytes) else {
            return nil
        }
        store(base58) { $0.address = address }
        return address
    }

    private func store(_ base58: String, _ update: (inout Entry) -> Void) {
        entries.withLock { table in
            if table.count >= capacity && table[base58] == nil { table.removeAll(keepingCapacity: true) }
            var e = table[base58] ?? Entry()
            update(&e)
            table[base58] = e
        }
    }

    func removeAll() { entries.withLock { $0.removeAll() } }
}

/// Cold-path measurements (`make bench`) and tests can empty the cache.
public enum DIDKeyCache {
    public static func removeAll() { KeyCache.shared.removeAll() }
}

internal import CSodium

/// Bytes that must not outlive their use: keys, passphrases, decrypted plaintext.
///
/// A copy-on-write value. The backing storage is zeroed with `sodium_memzero` when the last
/// copy goes away, equality is constant-time (`sodium_memcmp`), and the bytes never appear in
/// `description`, `debugDescription` or reflection (`dump`). Memory is not `mlock`ed: run
/// without swap, or with encrypted swap, for secrets to stay off disk.
public struct SecretBytes: Sendable {
    private var storage: Storage

    /// Copies `bytes`. The caller's array is left as it was; prefer `init(zeroing:)` when the
    /// array itself is a secret.
    public init(_ bytes: [UInt8]) {
        storage = Storage(count: bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress, !source.isEmpty {
                storage.pointer.copyMemory(from: base, byteCount: source.count)
            }
        }
    }

    /// Takes over `bytes`: copies them, then zeroes the caller's array and empties it.
    /// (Copies Swift made of the array earlier are out of reach; avoid making them.)
    public init(zeroing bytes: inout [UInt8]) {
        self.init(bytes)
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress, !buffer.isEmpty { sodium_memzero(base, buffer.count) }
        }
        bytes.removeAll()
    }

    /// The UTF-8 bytes of `string` (e.g. a passphrase). The `String` itself cannot be zeroed.
    public init(utf8 string: String) {
        self.init(Array(string.utf8))
    }

    /// `count` bytes filled in place by `body`, so a secret never passes through an ordinary array.
    /// The buffer starts zeroed; if `body` throws, the storage is zeroed and freed.
    public init<E: Error>(
        count: Int, initializingWith body: (UnsafeMutableRawBufferPointer) throws(E) -> Void
    ) throws(E) {
        storage = Storage(count: max(count, 0))
        try body(UnsafeMutableRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Non-throwing form of `init(count:initializingWith:)` for this module.
    init(zeroedCount count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        storage = Storage(count: max(count, 0))
        fill(UnsafeMutableRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Number of bytes.
    public var count: Int { storage.count }

    /// True if there are no bytes.
    public var isEmpty: Bool { storage.count == 0 }

    /// Read access to the bytes. Do not let the pointer escape `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Write access to the bytes; copies first if the storage is shared (copy-on-write).
    public mutating func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(UnsafeMutableRawBufferPointer(start: storage.pointer, count: storage.count))
    }
}

extension SecretBytes: Equatable {
    /// Constant-time in the contents (the lengths are not secret).
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.storage === rhs.storage || lhs.count == 0 { return true }
        return sodium_memcmp(lhs.storage.pointer, rhs.storage.pointer, lhs.count) == 0
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["count": count], displayStyle: .struct) }
}

extension SecretBytes {
    /// Zeroing heap storage. Immutable once shared: writers go through
    /// `withUnsafeMutableBytes`, which copies unless the reference is unique, so sharing across
    /// threads is safe (the usual copy-on-write contract), hence `@unchecked Sendable`.
    fileprivate final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let count: Int

        init(count: Int) {
            self.count = count
            // At least one byte so the pointer is valid even for empty secrets.
            let capacity = max(count, 1)
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            pointer.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        }

        func copy() -> Storage {
            let clone = Storage(count: count)
            if count > 0 { clone.pointer.copyMemory(from: pointer, byteCount: count) }
            return clone
        }

        deinit {
            sodium_memzero(pointer, max(count, 1))
            pointer.deallocate()
        }
    }
}

internal import CSodium

/// libsodium's result of `sodium_init()`, computed once: Swift initialises globals lazily and
/// exactly once, thread-safely, so this is the one place `sodium_init` is called.
private let sodiumInitStatus: Int32 = sodium_init()

/// Process-wide libsodium helpers: initialisation and the CSPRNG.
public enum Sodium {
    /// The libsodium version string, e.g. "1.0.18".
    public static var version: String { String(cString: sodium_version_string()) }

    /// Initialises libsodium if that has not happened yet (safe to call from any thread, any number of times).
    /// Every other API in this module calls it first, so callers normally need not.
    public static func initialize() throws(SodiumError) {
        // 0 = initialised now, 1 = already initialised, -1 = failure (no entropy source).
        if sodiumInitStatus < 0 { throw .initializationFailed }
    }

    /// `count` bytes from libsodium's CSPRNG (`randombytes_buf`: getrandom(2) on Linux).
    /// Use for nonces and salts; use `randomSecret(_:)` for keys.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        requireInitialized()
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress { randombytes_buf(base, count) }
            initialized = count
        }
    }

    /// `count` random bytes held in zeroing storage, for keys and other secrets.
    public static func randomSecret(_ count: Int) -> SecretBytes {
        requireInitialized()
        return SecretBytes(zeroedCount: max(count, 0)) { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 { randombytes_buf(base, buffer.count) }
        }
    }

    /// Randomness is not optional: if libsodium cannot initialise, there is no entropy source
    /// and nothing cryptographic can work, so stop loudly rather than hand out weak bytes.
    /// (libsodium itself aborts in this case too.)
    private static func requireInitialized() {
        if sodiumInitStatus < 0 {
            fatalError("libsodium failed to initialise (sodium_init() == -1): no usable entropy source")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
public import ElaConfig
import ElaFileSystem
public import ElaKeystore
internal import ElaSodium
public import ElaStorage

/// The device's state directory opened for identity work: lock, database, keystore, key protection. The daemon
/// holds it for its whole life; `elactl identity backup|restore` hold it briefly (so never while the agent runs).
public final class DeviceState {
    public let config: AgentConfig
    public let lock: StateDirectoryLock
    public let store: AgentStore
    public let identity: DeviceIdentityService

    /// Creates the directories as needed (`create`), or requires an existing state directory.
    public init(config: AgentConfig, create: Bool) throws {
        self.config = config
        if create {
            try FileSystem.makeDirectory(config.stateDir, mode: 0o700)
        } else {
            guard FileSystem.exists(config.databasePath) else {
                throw DeviceIdentityError("no agent state in \(config.stateDir) (wrong --state-dir or --config?)")
            }
        }
        lock = try StateDirectoryLock(directory: config.stateDir)
        do { store = try AgentStore(path: config.databasePath) } catch {
            lock.release()
            throw DeviceIdentityError("cannot open the database \(config.databasePath): \(error)")
        }
        do {
            identity = DeviceIdentityService(
                keystore: try Keystore(directory: config.keystoreDir), protection: try Self.keyProtection(config),
                store: store, validityYears: config.documentValidityYears)
        } catch {
            store.close()
            lock.release()
            throw error
        }
    }

    public func close() {
        store.close()
        lock.release()
    }

    public var protectionKind: String {
        if case .passphrase = config.effectiveProtection { return "passphrase" }
        return "machine-secret"
    }

    /// The keystore protection the configuration asks for; a passphrase comes from its file or `$ELA_AGENT_PASSPHRASE`.
    public static func keyProtection(_ config: AgentConfig) throws -> KeyProtection {
        switch config.effectiveProtection {
        case .machineSecret(let path):
            return .machineSecret(path: path)
        case .passphrase(let file):
            var text: String
            if let file {
                do { text = try FileSystem.readText(file, limit: 65536) } catch {
                    throw DeviceIdentityError("passphrase file \(error)")
                }
            } else if let env = getenv("ELA_AGENT_PASSPHRASE"), let s = String(validatingCString: env) {
                text = s
            } else {
                throw DeviceIdentityError(
                    "identity.protection is \"passphrase\" but neither identity.passphrase_file nor $ELA_AGENT_PASSPHRASE is set")
            }
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else { throw DeviceIdentityError("the passphrase is empty") }
            return .passphrase(SecretBytes(utf8: text), config.kdf == .interactive ? .interactive : .moderate)
        }
    }
}

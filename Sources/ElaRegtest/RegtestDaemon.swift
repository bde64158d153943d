#if canImport(Glibc)
    import Glibc
#endif
public import ElaChain
internal import ElaControl
internal import ElaControlServer
internal import ElaFileSystem
public import Logging
internal import ServiceLifecycle
public import UnixSignals

/// How to run a node (`ela-regtest run`).
public struct RegtestOptions: Sendable {
    public var dataDirectory: String
    public var p2pHost: String
    /// 0 binds an ephemeral port (written to `<data-dir>/p2p.port` either way).
    public var p2pPort: Int
    /// Defaults to `<data-dir>/control.sock`.
    public var controlSocket: String?
    /// Seconds between scheduled blocks; 0 mines only on demand.
    public var mineIntervalSeconds: Double
    public var parameters: ChainParameters

    public init(
        dataDirectory: String, p2pHost: String = "127.0.0.1", p2pPort: Int = Int(ChainParameters.elaRegnet.p2pPort),
        controlSocket: String? = nil, mineIntervalSeconds: Double = 0, parameters: ChainParameters = .elaRegnet
    ) {
        self.dataDirectory = dataDirectory
        self.p2pHost = p2pHost
        self.p2pPort = p2pPort
        self.controlSocket = controlSocket
        self.mineIntervalSeconds = mineIntervalSeconds
        self.parameters = parameters
    }

    public var controlSocketPath: String { controlSocket ?? dataDirectory + "/" + ControlProtocol.socketName }
    public var portFilePath: String { dataDirectory + "/p2p.port" }
}

/// A node assembled and listening: store loaded, P2P bound, control server and miner ready to run.
/// `run()` serves until a graceful shutdown (one of `signals`, or `shutdown()`), then closes the store.
public final class RegtestDaemon: Sendable {
    public let node: RegtestNode
    public let p2pPort: Int
    public let controlSocketPath: String
    let store: BlockStore
    let lock: DataDirectoryLock
    let group: ServiceGroup

    /// Locks the data directory, opens `<data-dir>/chain.db`, loads the chain, binds P2P and writes `p2p.port`. `onReady` runs once the
    /// control socket accepts connections, with the ready line to print.
    public static func start(
        _ options: RegtestOptions, logger: Logger, signals: [UnixSignal] = [], clock: RegtestNode.Clock? = nil,
        onReady: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(RegtestError) -> RegtestDaemon {
        do { try FileSystem.makeDirectory(options.dataDirectory, mode: 0o700) } catch {
            throw RegtestError(.storage, "cannot create the data directory: \(error)")
        }
        let lock = try DataDirectoryLock(directory: options.dataDirectory)
        let store: BlockStore
        do { store = try BlockStore(path: options.dataDirectory + "/" + BlockStore.fileName) } catch {
            lock.release()
            throw error
        }
        let node: RegtestNode
        let p2p: P2PServer
        do {
            node = try RegtestNode(store: store, parameters: options.parameters, clock: clock ?? SystemSupport.now, logger: logger)
            p2p = try await P2PServer.bind(host: options.p2pHost, port: options.p2pPort, node: node, logger: logger)
            try SystemSupport.writeFile(options.portFilePath, "\(p2p.port)\n")
        } catch {
            store.close()
            lock.release()
            throw error
        }
        let socket = options.controlSocketPath
        let height = await node.tip.height
        let line = "ela-regtest ready: p2p \(options.p2pHost):\(p2p.port), control \(socket), height \(height)"
        let control = ControlServer(
            path: socket, mode: 0o660, handler: RegtestControl.handler(node: node), logger: logger
        ) { onReady(line) }
        var services: [any Service] = [p2p, control]
        if options.mineIntervalSeconds > 0 {
            services.append(IntervalMiner(node: node, interval: .seconds(options.mineIntervalSeconds), logger: logger))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: signals, logger: logger))
        return RegtestDaemon(
            node: node, p2pPort: p2p.port, controlSocketPath: socket, store: store, lock: lock, group: group)
    }

    init(
        node: RegtestNode, p2pPort: Int, controlSocketPath: String, store: BlockStore, lock: DataDirectoryLock,
        group: ServiceGroup
    ) {
        self.node = node
        self.p2pPort = p2pPort
        self.controlSocketPath = controlSocketPath
        self.store = store
        self.lock = lock
        self.group = group
    }

    /// Serves until shut down; the store is closed and the data directory unlocked on return.
    public func run() async throws {
        defer {
            store.close()
            lock.release()
        }
        try await group.run()
    }

    /// Starts a graceful shutdown (what SIGTERM does).
    public func shutdown() async { await group.triggerGracefulShutdown() }
}

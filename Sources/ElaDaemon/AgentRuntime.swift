#if canImport(Glibc)
import Glibc
#endif
import ElaConfig
import ElaCrypto
import ElaDeviceIdentity
import ElaFileSystem
import ElaStorage
import ElaChain
import ElaSPV
import ElaWire
import ElaControl
import ElaControlServer
import ElaIdentity
import ElaJSON
import ElaGate
import Synchronization
import ElaPluginHost
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// A start-up failure with the exit status it maps to (2: configuration, 1: everything else).
struct AgentStartupError: Error {
    var message: String
    var exitCode: Int32 = 1
}

/// Assembles the agent: configuration, state directory, database, identity, control socket; runs until SIGTERM/SIGINT.
struct AgentRuntime {
    struct Options {
        var configPath: String
        var configIsExplicit: Bool
        var stateDir: String?
        var runtimeDir: String?
        var board: String?
        var foreground: Bool
    }

    let options: Options

    func run() async throws {
        let configText = try loadConfigText()
        var config = try parseConfig(configText)
        let logLevel = Logger.Level(rawValue: config.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        var logger = Logger(label: "ela-agent")
        logger.logLevel = logLevel
        signal(SIGPIPE, SIG_IGN)  // a peer closing its socket must not kill the daemon

        let board: BoardDescription?
        if let catalog = BoardCatalog.locate() {
            do { board = try catalog.load(config.board) } catch { throw AgentStartupError(message: "\(error)", exitCode: 2) }
        } else {
            board = nil
            logger.warning("no board files found (set ELA_BOARDS_DIR); running without a board description", metadata: ["board": "\(config.board)"])
        }
        if let board { logger.info("board", metadata: ["id": "\(board.id)", "name": "\(board.name)", "pins": "\(board.pins.count)"]) }
        do { try FileSystem.makeDirectory(config.runtimeDir, mode: 0o755) } catch { throw AgentStartupError(message: "\(error)") }
        // Before anything starts (the server checks again when it binds).
        do { try ControlServer.ensureNotServed(config.controlSocketPath) } catch { throw AgentStartupError(message: "\(error)") }
        let startedAt = currentTime()
        let state: DeviceState
        do { state = try DeviceState(config: config, create: true) } catch {
            throw AgentStartupError(message: "\(error)")
        }
        defer { state.close() }
        // What `elactl config set` changed, over the file (sections read only from here on). Settings that no longer
        // fit (agent.toml edited since, a key an upgrade renamed) are all left out rather than keep the agent down,
        // since only a running agent can change them: the log and `elactl status` say so.
        var overridesIgnored: String?
        do {
            let overrides = ConfigOverrides.overrides(fromSettings: try state.store.settings(withPrefix: ConfigOverrides.settingPrefix))
            if !overrides.isEmpty {
                do {
                    config = try parseConfig(configText, overrides: overrides)
                    logger.info("configuration: settings from elactl config set", metadata: ["keys": "\(overrides.keys.sorted().joined(separator: ", "))"])
                } catch {
                    overridesIgnored = "\(error)"
                    logger.error("configuration: the settings from elactl config set are ignored (fix with elactl config unset)", metadata: ["error": "\(error)"])
                }
            }
        } catch {
            overridesIgnored = "cannot read them: \(error)"
            logger.error("configuration: cannot read the settings from elactl config set; agent.toml alone applies", metadata: ["error": "\(error)"])
        }
        switch state.store.migrationSnapshot {
        case .success(let copy):
            logger.notice("the database was upgraded; its previous form is kept for going back to the older version", metadata: ["copy": "\(copy)"])
        case .failure(let error):
            logger.warning("the database was upgraded without a copy of its previous form", metadata: ["error": "\(error)"])
        case nil: break
        }
        let starts = (try? state.store.recordStart(version: AgentInfo.version, pid: Int(getpid()), now: startedAt.secondsSince1970)) ?? 0

        var loaded: DeviceIdentity
        let outcome: DeviceIdentityService.Outcome
        do { (loaded, outcome) = try state.identity.loadOrCreate(now: startedAt) } catch {
            throw AgentStartupError(message: "device identity: \(error)")
        }
        switch outcome {
        case .created: logger.notice("created device identity", metadata: ["did": "\(loaded.did)"])
        case .loaded: logger.info("loaded device identity", metadata: ["did": "\(loaded.did)"])
        case .renewed:
            // The copy on chain still has the old expiry: once that passes, resolvers treat the DID as expired.
            logger.notice(
                "renewed device DID document; publish it again (elactl did publish, or a wallet on mainnet) before the chain's copy expires",
                metadata: ["did": "\(loaded.did)", "expires": "\(loaded.document.expires)"])
        }

        let parameters: ChainParameters =
            switch config.spvNetwork {
            case .mainnet: .elaMainnet
            case .testnet: .elaTestnet
            case .regnet: .elaRegnet
            }
        let spv: SPVService
        do {
            spv = SPVService(
                chain: try SPVChain(parameters: parameters, store: state.store, fromCheckpoint: config.spvStart == .checkpoint),
                peers: config.spvPeers.compactMap(PeerAddress.init), logger: logger)
        } catch {
            throw AgentStartupError(message: "cannot load the \(parameters.name) header chain: \(error)")
        }

        var carrierIdentity: CarrierIdentity?
        if config.carrier.isEnabled {
            do {
                carrierIdentity = try CarrierIdentity.loadOrCreate(
                    keystore: state.identity.keystore, protection: state.identity.protection, deviceKey: loaded.key)
            } catch { throw AgentStartupError(message: "carrier identity: \(error)") }
            // The DID document names the carrier address, so a DApp that resolves the DID finds the device.
            if let carrierIdentity {
                do {
                    let before = loaded.document
                    loaded = try state.identity.withService(try carrierIdentity.service(for: loaded.did), in: loaded, now: startedAt)
                    if loaded.document != before {
                        logger.notice(
                            "DID document now names the carrier address; publish it again (elactl did publish) for DApps resolving it",
                            metadata: ["did": "\(loaded.did)"])
                    }
                } catch { throw AgentStartupError(message: "carrier address in the DID document: \(error)") }
            }
        }
        let identity = loaded
        let events = EventBus()
        // The host and the gate refer to each other (plugins' own requests are gated); the box closes the loop.
        let late = LateBinding()
        // The control socket and every plugin connection share one event loop: a gated call from a control client
        // to a plugin and back then runs on one thread, with no wake-up of another per hop.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let minConfirmations = config.spvConfirmations
        let carrier = CarrierService(
            deviceDID: identity.did, store: state.store, late: late,
            spvVerified: { did in
                if case .verified? = try? spv.didStatus(did, minConfirmations: minConfirmations, now: currentTime()) { return true }
                return false
            }, logger: logger)
        let plugins = PluginSetup.makeHost(
            config: config, board: board, store: state.store, logger: logger, events: events, eventLoop: loop,
            carrierIdentity: carrierIdentity,
            requestHandler: PluginServices(
                deviceDID: identity.did.description, late: late, carrier: carrier,
                fallback: ControlContext.pluginRequestHandler(gate: { late.gate }, plugins: { late.plugins })
            ).handler)
        let gate = Gate(
            store: state.store,
            configuration: GateConfiguration(
                replayWindowSeconds: 300, deviceDID: identity.did,
                isDeactivated: { did in
                    if case .deactivated? = try? spv.didStatus(did, minConfirmations: minConfirmations, now: currentTime()) { return true }
                    return false
                }),
            capabilityOf: { plugins.capability(of: $0) }, eventCapabilityOf: { plugins.capability(ofEvent: $0) })
        late.set(gate: gate, plugins: plugins)
        // Rows reach the database in batches; the last ones are moved before the database closes.
        defer {
            do { try gate.audit.close() } catch { logger.error("audit log: \(error); the rows stay in the journal and are moved at the next start") }
        }
        switch gate.auditOpening {
        case .success(let recovery?):
            if recovery.imported > 0 {
                logger.notice("audit log: moved \(recovery.imported) row(s) a stopped agent left in the journal into the database")
            }
            if let damage = recovery.damage {
                logger.error(
                    "audit journal damaged: \(damage); the rows before it are in the log, the file was kept",
                    metadata: ["file": "\(recovery.movedTo ?? "not moved")"])
            }
        case .success(nil): break
        case .failure(let error): logger.error("audit log: \(error); gated calls are denied until it can be written")
        }
        gate.audit.onRecovery { [logger] event in
            switch event {
            case .opened(let recovery, let reason):
                logger.notice(
                    "audit log: the journal opened (it had failed: \(reason)); gated calls are served again",
                    metadata: ["imported": "\(recovery.imported)", "damage": "\(recovery.damage ?? "none")"])
            case .flushed(let reason):
                logger.notice("audit log: rows reach the database again (the move had failed: \(reason)); gated calls are served again")
            }
        }

        let retention = AuditRetentionService(
            gate: gate, retention: AuditRetention(maxRows: config.auditMaxRows, maxAgeMillis: config.auditMaxAgeDays * 86_400_000),
            logger: logger)
        let context = ControlContext(
            config: config, board: board, configPath: options.configPath, identity: identity, startedAt: startedAt, starts: starts,
            protectionKind: state.protectionKind, spv: spv, plugins: plugins, subscriptions: ControlSubscriptions(), gate: gate,
            carrier: carrier, auditRetention: retention, store: state.store, configText: configText, configOverridesIgnored: overridesIgnored)
        let foreground = options.foreground
        let socketPath = config.controlSocketPath
        let systemd = SystemdNotifier.fromEnvironment()
        var socketGroup: UInt32? = nil
        if let name = config.controlSocketGroup {
            guard let gid = groupID(named: name) else {
                throw AgentStartupError(
                    message: "control.socket_group: no group '\(name)' on this system (the package creates 'ela-agent'; "
                        + "create it with 'addgroup --system \(name)' or remove the key)", exitCode: 2)
            }
            socketGroup = gid
        }
        if let problem = wallClockProblem(nowSeconds: Int64(time(nil))) { logger.warning("system clock \(problem)") }
        let server = ControlServer(
            path: config.controlSocketPath, mode: config.controlSocketMode, group: socketGroup, handler: context.handler(), logger: logger,
            eventLoop: loop, handlersOnEventLoop: true
        ) {
            let word = outcome == .created ? "new" : "existing"
            // One line on stdout that scripts (and `make run`) can read; logs go to stderr.
            printLine("ela-agent ready: device DID \(identity.did) (\(word) identity), control socket \(socketPath)")
            systemd?.send("READY=1\nSTATUS=device DID \(identity.did), control socket \(socketPath)\nMAINPID=\(getpid())")
            if foreground {
                let elactl = siblingExecutable("elactl")
                printLine("  try in another terminal (Ctrl-C here stops the agent):")
                printLine("    \(elactl) status --socket \(socketPath)")
                printLine("    \(elactl) identity show --document --socket \(socketPath)")
            }
        }
        // The SPV service only runs with peers; without, it still answers status and verification from stored data.
        // Shut down in reverse: plugins stop first, the control socket last.
        let services: [any Service] = config.spvPeers.isEmpty ? [server, plugins, retention] : [server, spv, plugins, retention]
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let watchdog = systemd?.startWatchdog(on: loop)
        defer {
            watchdog?.cancel()
            systemd?.send("STOPPING=1")
        }
        try await group.run()
        logger.info("stopped")
    }

    /// The config file's text; empty (built-in defaults) when there is no file at the default path.
    func loadConfigText() throws -> String {
        let path = options.configPath
        guard FileSystem.exists(path) || options.configIsExplicit else { return "" }
        do { return try FileSystem.readText(path) } catch {
            throw AgentStartupError(message: "\(error)", exitCode: 2)
        }
    }

    /// The file's settings with `overrides` over them, then the command line's.
    func parseConfig(_ text: String, overrides: [String: String] = [:]) throws -> AgentConfig {
        var config: AgentConfig
        do { config = try AgentConfig.parse(text, fileName: options.configPath, overrides: overrides) } catch {
            throw AgentStartupError(message: "invalid configuration: \(error)", exitCode: 2)
        }
        do { try config.override(board: options.board, stateDir: options.stateDir, runtimeDir: options.runtimeDir) } catch {
            throw AgentStartupError(message: error.description, exitCode: 2)
        }
        return config
    }
}

/// What the control methods report.
struct ControlContext: Sendable {
    let config: AgentConfig
    let board: BoardDescription?
    let configPath: String
    let identity: DeviceIdentity
    let startedAt: DIDDate
    let starts: Int
    let protectionKind: String
    let spv: SPVService
    let plugins: PluginHost
    let subscriptions: ControlSubscriptions
    let gate: Gate
    let carrier: CarrierService
    let auditRetention: AuditRetentionService
    let store: AgentStore
    /// The config file as the agent read it at start (`elactl config set` checks a change against it).
    let configText: String
    /// Why the stored `elactl config set` settings were left out at start, if they were.
    let configOverridesIgnored: String?

    func handler() -> ControlHandler {
        let ctx = self
        return ControlHandler(methods: pluginMethods.merging(gateMethods) { a, _ in a }.merging(carrierMethods) { a, _ in a }.merging(configMethods) { a, _ in a }.merging([
            "ping": { _ in .string("pong") },
            "status": { _ in await ctx.status() },
            "identity.show": { _ in ctx.identityInfo() },
            "spv.status": { _ in ctx.spvStatus() },
            // Document checks and chain round trips: off the event loop that serves plugin calls.
            "peer.verify": { params throws(ControlError) in try await offLoop { () throws(ControlError) in try ctx.verifyPeer(params) } },
            // Chain status per DID (Merkle replays): off the loop that serves plugin calls.
            "peer.list": { _ throws(ControlError) in try await offLoop { () throws(ControlError) in try ctx.listPeers() } },
            "did.publish": { _ throws(ControlError) in try await offLoop { () throws(ControlError) in try await ctx.publishDID() } },
        ]) { a, _ in a })
    }

    func status() async -> JSONValue {
        let now = currentTime()
        return .object(
            JSONObject([
                ("version", .string(AgentInfo.version)), ("pid", .number(JSONNumber(Int(getpid())))),
                ("startedAt", .string(startedAt.description)),
                ("uptimeSeconds", .number(JSONNumber(now.secondsSince1970 - startedAt.secondsSince1970))),
                ("starts", .number(JSONNumber(starts))), ("did", .string(identity.did.description)),
                ("board", .string(config.board)), ("boardName", board.map { .string($0.name) } ?? .null),
                ("stateDir", .string(config.stateDir)),
                ("runtimeDir", .string(config.runtimeDir)), ("config", .string(configPath)),
                ("health", await health()),
            ]))
    }

    /// What needs attention, in one place: whether gated calls can be audited (else they are denied), the plugins,
    /// the carrier, the chain, and the room left for the database.
    func health() async -> JSONValue {
        let statuses = await plugins.statuses()
        let spvStatus = spv.status()
        var free: JSONValue = .null
        var fs = statvfs()
        if statvfs(config.stateDir, &fs) == 0 { free = .number(JSONNumber(Int64(fs.f_bavail) * Int64(fs.f_frsize))) }
        return .object(
            JSONObject([
                ("audit", gate.audit.problem.map(JSONValue.string) ?? "ok"),
                ("clock", .string(wallClockProblem(nowSeconds: Int64(time(nil))) ?? "ok")),
                ("configIgnored", configOverridesIgnored.map(JSONValue.string) ?? .null),
                ("pluginsRunning", .number(JSONNumber(statuses.count { $0.state == .running }))),
                ("pluginsFailed", .array(statuses.filter { $0.state == .failed }.map { .string($0.name) })),
                ("carrier", .string(config.carrier.isEnabled ? carrier.state.withLock { $0.selfConnection } : "off")),
                ("spv", .string(config.spvPeers.isEmpty ? "no peers" : "\(spvStatus.phase) at \(spvStatus.height)")),
                ("spvError", spvStatus.lastError.map(JSONValue.string) ?? .null),
                ("stateDirFreeBytes", free),
            ]))
    }

    func identityInfo() -> JSONValue {
        .object(
            JSONObject([
                ("did", .string(identity.did.description)),
                ("publicKeyBase58", .string(identity.key.publicKey.base58)),
                ("created", .string(DIDDate(secondsSince1970: identity.createdAt).description)),
                ("expires", .string(identity.document.expires.description)),
                ("protection", .string(protectionKind)),
                ("document", identity.document.normalizedJSON()),
            ]))
    }
}

/// Set once after start-up: lets the plugin host's request handler reach the gate created after it.
final class LateBinding: Sendable {
    private let state = Mutex<(gate: Gate?, plugins: PluginHost?)>((nil, nil))
    func set(gate: Gate, plugins: PluginHost?) { state.withLock { $0 = (gate, plugins) } }
    var gate: Gate? { state.withLock { $0.gate } }
    var plugins: PluginHost? { state.withLock { $0.plugins } }
}

func currentTime() -> DIDDate { DIDDate(secondsSince1970: Int64(time(nil))) }

/// Nil when the wall clock looks set. Before 2025 it is not (a board without a real-time clock before NTP): remote
/// callers' signed requests then look signed in the future and are refused.
func wallClockProblem(nowSeconds: Int64) -> String? {
    guard AuditLogStore.clockIsUnset(atSeconds: nowSeconds) else { return nil }
    return "NOT SET: it reads \(DIDDate(secondsSince1970: nowSeconds)); signed calls are refused as from the future until NTP sets it"
}

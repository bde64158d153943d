#if canImport(Glibc)
    import Glibc
#endif
public import ArgumentParser
internal import ElaChain
internal import ElaControl
internal import ElaJSON
internal import Logging
internal import UnixSignals

/// `ela-regtest`: a small ELA-format regtest chain node for the devnet and tests.
public struct RegtestCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ela-regtest",
        abstract: "A regtest ELA chain node: mines on demand, accepts DID requests, serves SPV clients over ELA P2P.",
        discussion: """
            Start a node with `ela-regtest run --data-dir DIR`; the other subcommands talk to it over its control \
            socket (--control-socket PATH, or --data-dir DIR for DIR/control.sock). Hashes are printed in display \
            order (byte-reversed, as explorers show them).
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, MineCommand.self, SubmitCommand.self, StatusCommand.self, ForkCommand.self])

    public init() {}

    /// Entry point for the executable (keeps ArgumentParser out of the @main target).
    public static func runMain() async { await main() }
}

/// `ela-regtest run`: the node itself.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the node until SIGTERM or SIGINT; prints one ready line on stdout.")

    @Option(name: .long, help: "Directory for chain.db, p2p.port and (by default) control.sock.")
    var dataDir: String

    @Option(name: .long, help: "Address to listen on for P2P peers.")
    var p2pHost = "127.0.0.1"

    @Option(name: .long, help: "P2P port (0: an ephemeral port; the bound port is written to DIR/p2p.port).")
    var p2pPort = Int(ChainParameters.elaRegnet.p2pPort)

    @Option(name: .long, help: "Control socket path (default DIR/control.sock).")
    var controlSocket: String?

    @Option(name: .long, help: "Mine a block every this many seconds (0: only on demand).")
    var mineInterval: Double = 0

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(p2pPort) else { throw ValidationError("--p2p-port must be 0...65535") }
        guard mineInterval >= 0, mineInterval.isFinite else { throw ValidationError("--mine-interval must be >= 0") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ela-regtest")
        signal(SIGPIPE, SIG_IGN)  // a peer closing its socket must not kill the node
        let options = RegtestOptions(
            dataDirectory: SystemSupport.absolute(dataDir), p2pHost: p2pHost, p2pPort: p2pPort,
            controlSocket: controlSocket.map(SystemSupport.absolute), mineIntervalSeconds: mineInterval)
        do {
            let daemon = try await RegtestDaemon.start(options, logger: logger, signals: [.sigterm, .sigint], onReady: { line in
                SystemSupport.printLine(line)
            })
            try await daemon.run()
            logger.info("stopped")
        } catch {
            SystemSupport.printLine("ela-regtest: \(error)", fd: 2)
            throw ExitCode(1)
        }
    }
}

/// Where a client subcommand finds the node.
struct ControlOptions: ParsableArguments {
    @Option(name: .long, help: "The node's control socket.")
    var controlSocket: String?

    @Option(name: .long, help: "The node's data directory (its control socket is DIR/control.sock).")
    var dataDir: String?

    func call(_ method: String, _ params: JSONObject = JSONObject()) throws -> JSONValue {
        guard let path = controlSocket ?? dataDir.map({ $0 + "/" + ControlProtocol.socketName }) else {
            throw ValidationError("give --control-socket PATH or --data-dir DIR")
        }
        do { return try ControlClient(socketPath: path, timeoutSeconds: 120).call(method, params: params) } catch {
            // The shared client words connection failures for ela-agent; say which daemon is meant here.
            let text = error is ControlClientError && "\(error)".hasPrefix("cannot reach")
                ? "cannot reach a node at \(path) (is `ela-regtest run` running with that socket?)" : "\(error)"
            SystemSupport.printLine("ela-regtest: \(text)", fd: 2)
            throw ExitCode(1)
        }
    }
}

struct MineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mine", abstract: "Mine N blocks on the tip (the first takes the mempool); prints their hashes.")

    @Argument(help: "How many blocks.") var count = 1
    @OptionGroup var control: ControlOptions

    func run() throws {
        let result = try control.call("mine", JSONObject([("count", .number(JSONNumber(count)))]))
        printHashes(result)
    }
}

struct ForkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fork",
        abstract: "Mine N blocks on the main-chain block at height H (a competing branch; the node reorganizes if it "
            + "ends with more work). Prints their hashes.")

    @Option(name: .long, help: "Height of the main-chain block to build on.") var fromHeight: Int
    @Option(name: .long, help: "How many blocks.") var count = 1
    @OptionGroup var control: ControlOptions

    func run() throws {
        let params = JSONObject([("fromHeight", .number(JSONNumber(fromHeight))), ("count", .number(JSONNumber(count)))])
        printHashes(try control.call("fork", params))
    }
}

struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit an ID-chain request (DID transaction) JSON file; prints the txid.")

    @Argument(help: "The request file (JSON).") var request: String
    @OptionGroup var control: ControlOptions

    func run() throws {
        guard let bytes = readFile(request) else { throw ValidationError("cannot read \(request)") }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: bytes) } catch { throw ValidationError("\(request): \(error)") }
        let result = try control.call("submit", JSONObject([("request", json)]))
        SystemSupport.printLine(result["txid"]?.stringValue ?? JSONWriter.compact(result))
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the node's chain state.")

    @Flag(name: .long, help: "Print the JSON status.") var json = false
    @OptionGroup var control: ControlOptions

    func run() throws {
        let status = try control.call("status")
        if json {
            SystemSupport.printLine(JSONWriter.pretty(status))
            return
        }
        for key in ["network", "height", "tip", "genesis", "mempool", "peers", "p2pPort"] {
            let value = status[key].map { $0.stringValue ?? JSONWriter.compact($0) } ?? "?"
            SystemSupport.printLine(key + ": " + value)
        }
    }
}

func printHashes(_ result: JSONValue) {
    for hash in result["hashes"]?.arrayValue ?? [] { SystemSupport.printLine(hash.stringValue ?? "") }
}

func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { return nil }
        if n == 0 { return out }
        out += chunk[0..<n]
        if out.count > 2 << 20 { return nil }
    }
}

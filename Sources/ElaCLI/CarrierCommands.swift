#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ElaCarrier
import ElaClient
import ElaConfig
import ElaDeviceIdentity
import ElaFileSystem
import ElaJSON
import ElaQR
import Logging
import Synchronization

/// `elactl carrier show|status`: the device's carrier address and links.
struct CarrierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "carrier", abstract: "The carrier (Tox) transport: address, connection, friends.", subcommands: [Show.self, Status.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the carrier address, user id and a QR code of the address.")
        @OptionGroup var options: DaemonOptions
        @Flag(name: .long, help: "No QR code.") var noQR = false

        func run() throws {
            let r = try callAgent(options, "carrier.show")
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            guard r["running"]?.boolValue == true, let address = r["address"]?.stringValue else {
                print("carrier: not running (configure [carrier] bootstrap nodes in agent.toml)")
                throw ExitCode(1)
            }
            print("address: \(address)")
            print("user id: \(r["userId"]?.stringValue ?? "?")")
            print("did:     \(r["did"]?.stringValue ?? "?")")
            if !noQR {
                do { print(try QRCode(encoding: address).terminalText(), terminator: "") } catch { printError("elactl: \(error)") }
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Connection state and friends (DID, link, session).")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "carrier.status")
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            print("carrier: \(r["running"]?.boolValue == true ? "running" : "not running"), connection \(r["connection"]?.stringValue ?? "none")")
            if let a = r["address"]?.stringValue { print("  address \(a)") }
            print("  admitted \(r["admitted"]?.numberValue?.text ?? "0"), refused \(r["refused"]?.numberValue?.text ?? "0"), carrier starts \(r["carrierStarts"]?.numberValue?.text ?? "0")")
            for f in r["friends"]?.arrayValue ?? [] {
                let credential = f["credential"]?.stringValue.map { ", on credential \($0)" } ?? ""
                let subscriptions = f["subscriptions"]?.numberValue?.int64Value ?? 0
                print(
                    "  friend \(f["did"]?.stringValue ?? "?") (\(f["userId"]?.stringValue ?? "?")): link \(f["connection"]?.stringValue ?? "none"), "
                        + "session \(f["session"]?.stringValue ?? "none")\(credential)\(subscriptions > 0 ? ", \(subscriptions) subscriptions" : "")")
            }
        }
    }
}

/// `elactl peer pin|unpin`: DIDs the admin vouches for (carrier admission treats them as verified).
struct PeerPin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pin", abstract: "Pin a DApp's DID document (a file): its DID counts as verified for carrier admission.")
    @OptionGroup var options: DaemonOptions
    @Argument(help: "The DID document, a JSON file (e.g. <identity dir>/document.json).") var file: String

    func run() throws {
        let bytes: [UInt8]
        do { bytes = try readAll(file) } catch { throw ValidationError("cannot read \(file): \(error)") }
        guard let doc = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self)), doc.objectValue != nil else {
            throw ValidationError("\(file) is not a JSON DID document")
        }
        let r = try callAgent(options, "peer.pin", params: ["document": doc])
        print(options.json ? JSONWriter.pretty(r) : "pinned \(r["did"]?.stringValue ?? "?") (document expires \(r["expires"]?.stringValue ?? "?"))")
    }
}

struct PeerUnpin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unpin", abstract: "Forget a pinned DID.")
    @OptionGroup var options: DaemonOptions
    @Argument(help: "The DID.") var did: String

    func run() throws {
        let r = try callAgent(options, "peer.unpin", params: ["did": .string(did)])
        print(options.json ? JSONWriter.pretty(r) : (r["removed"]?.boolValue == true ? "unpinned \(did)" : "\(did) was not pinned"))
    }
}

func readAll(_ path: String) throws -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw ValidationError("cannot open \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

/// `elactl remote call|subscribe`: act as a DApp, reaching a device through the carrier.
struct RemoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote", abstract: "Call a device over the carrier as a DApp (spawns ela-carrier in client mode).",
        subcommands: [Call.self, Batch.self, Subscribe.self])

    struct NetworkOptions: ParsableArguments {
        @Option(name: .long, help: "Device carrier address (elactl carrier show).") var device: String
        @Option(name: .long, help: "Identity folder (elactl identity create --dir) that signs the hello and every request.") var identity: String
        @Option(name: .long, help: "Bootstrap node host:port:<64 hex key> (repeatable).") var bootstrap: [String] = []
        @Option(name: .long, help: "TCP relay host:port:<64 hex key> (repeatable).") var relay: [String] = []
        @Flag(name: .long, help: "TCP relays only (no UDP).") var noUDP = false
        @Option(name: .long, parsing: .unconditional, help: "Seconds to wait for the session (1-86400).") var timeout: Double = 60
        @Option(
            name: .long,
            help: "A DeviceAccessCredential (JSON file) the device's owner issued to this identity, for access without a grant.")
        var credential: String?
        @Flag(
            name: .long,
            help: "A new Tox identity for this run (default: the one the identity's key derives, which the device knows after the first run).")
        var newToxKey = false

        func validate() throws {
            // NaN or a huge value would skip the wait and trap turning it into whole seconds.
            guard timeout.isFinite, (1...86_400).contains(timeout) else { throw ValidationError("--timeout must be 1-86400 seconds") }
            for s in bootstrap + relay { _ = try nodes([s]) }
        }

        func nodes(_ list: [String]) throws -> [CarrierSettings.Node] {
            try list.map { s in
                let parts = s.split(separator: ":").map(String.init)
                guard parts.count == 3, let port = Int(parts[1]), (1...65535).contains(port), parts[2].utf8.count == 64 else {
                    throw ValidationError("'\(s)' must be host:port:<64 hex digit key>")
                }
                return CarrierSettings.Node(host: parts[0], port: port, publicKey: parts[2].lowercased())
            }
        }

        /// Takes `<identity>/carrier.lock` for the life of this process (the descriptor is never closed: the kernel
        /// releases the lock when the process ends, however it ends). False, said on stderr, if another process
        /// holds it or it cannot be made.
        static func holdToxKeyLock(_ identity: String) -> Bool {
            let path = identity + "/carrier.lock"
            do {
                guard try FileSystem.lockExclusively(path) != nil else {
                    printError("note: another elactl remote of this identity is running: this run uses a fresh Tox identity")
                    return false
                }
                return true
            } catch {
                printError("note: cannot lock \(error): this run uses a fresh Tox identity")
                return false
            }
        }

        /// A client with its session open; a session that does not open ends the command (exit status 1).
        func connectedClient() throws -> CarrierClient {
            let client = try client()
            let timeout = timeout
            let failure: RemoteError? = runBlocking {
                do { try await client.connect(timeoutSeconds: timeout) } catch {
                    await client.close()
                    return RemoteError(code: -32001, message: "\(error)")
                }
                return nil
            }
            if let failure {
                printError("elactl: \(failure)")
                throw ExitCode(1)
            }
            return client
        }

        func client() throws -> CarrierClient {
            let id: IdentityDirectory
            do { id = try IdentityDirectory.load(identity) } catch { throw ValidationError("\(error)") }
            let address: CarrierAddress
            do { address = try CarrierAddress(device) } catch { throw ValidationError("--device: \(error)") }
            var o = CarrierClient.Options()
            o.network.bootstrap = try nodes(bootstrap)
            o.network.relays = try nodes(relay)
            o.network.udp = !noUDP
            if let credential { o.credential = try loadCredential(credential) }
            // The derived Tox identity, unless another elactl holds it right now (two online with one key would
            // flap): the device then opens the session without a friend request and keeps one friend for us.
            if !newToxKey && Self.holdToxKeyLock(identity) { o.secretKey = CarrierClient.toxSecretKey(derivedFrom: id.key) }
            var logger = Logger(label: "elactl.remote")
            logger.logLevel = .warning
            return try CarrierClient(did: id.did, key: id.key, device: address, options: o, logger: logger)
        }
    }

    struct Call: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One signed call through the carrier; prints the result.")
        @OptionGroup var network: NetworkOptions
        @Argument(help: "Method, e.g. gpio.write.") var method: String
        @Argument(help: "Params as a JSON object.") var params: String = "{}"

        func run() throws {
            guard let p = (try? JSONParser.parse(params))?.objectValue else { throw ValidationError("params must be a JSON object") }
            let client = try network.connectedClient()
            let method = method
            let r: Result<JSONValue, RemoteError> = runBlocking {
                let r: Result<JSONValue, RemoteError>
                do throws(RemoteError) { r = .success(try await client.call(method, p)) } catch { r = .failure(error) }
                await client.close()
                return r
            }
            switch r {
            case .success(let v): print(resultText(v))
            case .failure(let e):
                printError("elactl: \(e)")
                throw ExitCode(1)
            }
        }
    }

    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Many signed calls over one session: one JSON request per line on standard input, one JSON line out per request.",
            discussion: """
                Each input line is {"method": "gpio.write", "params": {"pin": "LED0", "value": 1}} (params optional; an \
                "id" is echoed back). Each output line, in input order, is {"line": N, "result": ...} or \
                {"line": N, "error": {"code": C, "message": "..."}}. The session opens once (seconds), then each call \
                takes about a millisecond. Exit status 1 when any request failed.
                """)
        @OptionGroup var network: NetworkOptions
        @Flag(name: .long, help: "Stop at the first request that fails.") var stopOnError = false

        func run() throws {
            let client = try network.connectedClient()
            let timeout = network.timeout
            var failures = 0
            var lineNumber = 0
            while let line = readLine() {
                lineNumber += 1
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                var out: [(String, JSONValue)] = [("line", .number(JSONNumber(lineNumber)))]
                let outcome: Result<JSONValue, RemoteError>
                switch BatchRequest.parse(line) {
                case .failure(let e):
                    outcome = .failure(e)
                case .success(let request):
                    if let id = request.id { out.append(("id", id)) }
                    outcome = runBlocking {
                        // A session that dropped (the device restarted) is reopened by the client: wait for it rather
                        // than fail every line meanwhile.
                        if !client.isReady { try? await client.waitReady(timeoutSeconds: timeout) }
                        do throws(RemoteError) { return .success(try await client.call(request.method, request.params)) } catch { return .failure(error) }
                    }
                }
                switch outcome {
                case .success(let v): out.append(("result", v))
                case .failure(let e):
                    failures += 1
                    out.append(("error", .object(["code": .number(JSONNumber(e.code)), "message": .string(e.message)])))
                }
                print(JSONWriter.compact(.object(JSONObject(out))))
                fflush(nil)
                if failures > 0 && stopOnError { break }
            }
            runBlocking { await client.close() }
            if failures > 0 { throw ExitCode(1) }
        }
    }

    struct Subscribe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe to an event through the carrier; prints one JSON line per event.")
        @OptionGroup var network: NetworkOptions
        @Argument(help: "Event, e.g. sensors.reading.") var event: String
        @Option(name: .long, parsing: .unconditional, help: "Stop after this many events (0: run until interrupted).") var count = 0

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must be 0 (no limit) or more, found \(count)") }
        }

        func run() throws {
            let client = try network.connectedClient()
            let (event, count) = (event, count)
            let r: Result<Int, RemoteError> = runBlocking {
                do {
                    var seen = 0
                    for await e in try await client.subscribe(event) {
                        print(JSONWriter.compact(.object(["plugin": .string(e.plugin), "event": .string(e.event), "params": .object(e.params)])))
                        fflush(nil)
                        seen += 1
                        if count > 0 && seen >= count { break }
                    }
                    // The stream ended before the count: the device ended the subscription.
                    let ended = count == 0 || seen < count ? client.lastSubscriptionEnd : nil
                    await client.close()
                    if let ended { return .failure(RemoteError(code: RemoteError.subscriptionEnded, message: ended)) }
                    return .success(seen)
                } catch {
                    await client.close()
                    return .failure(error as? RemoteError ?? RemoteError(code: -32603, message: "\(error)"))
                }
            }
            if case .failure(let e) = r {
                printError("elactl: \(e)")
                throw ExitCode(1)
            }
        }
    }
}

/// One line of `elactl remote batch`.
struct BatchRequest {
    var method: String
    var params: JSONObject
    var id: JSONValue?

    /// The request on `line`, or why it is not one (JSON-RPC's parse error or invalid request code).
    static func parse(_ line: String) -> Result<BatchRequest, RemoteError> {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch { return .failure(RemoteError(code: -32700, message: "not JSON: \(error)")) }
        guard let object = value.objectValue else {
            return .failure(RemoteError(code: -32600, message: #"a request is an object: {"method": "gpio.read", "params": {...}}"#))
        }
        guard let method = object["method"]?.stringValue, !method.isEmpty else {
            return .failure(RemoteError(code: -32600, message: "method must be a method name, e.g. gpio.read"))
        }
        let params: JSONObject
        switch object["params"] {
        case nil, .null?: params = JSONObject()
        case .object(let o)?: params = o
        default: return .failure(RemoteError(code: -32600, message: "params must be an object"))
        }
        return .success(BatchRequest(method: method, params: params, id: object["id"]))
    }
}

/// Runs async work from a synchronous command, blocking this thread (not a pool thread) until it is done.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = Mutex<T?>(nil)
    Task { box.withLock { $0 = nil }; let v = await body(); box.withLock { $0 = v } }
    while true {
        if let v = box.withLock({ $0 }) { return v }
        usleep(2000)
    }
}

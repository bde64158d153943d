#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ElaCrypto
import ElaDeviceIdentity
import ElaFileSystem
import ElaGate
import ElaIdentity
import ElaJSON

/// `elactl call gpio.write '{"pin":"LED0","value":1}' [--as DIR]`
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Call a plugin method through the agent's gate.",
        discussion: """
            Without --as this is a local admin call (allowed, and audited under your uid). With --as DIR the request is \
            signed by the identity in DIR (elactl identity create --dir DIR) and gated exactly like a remote caller's: it \
            needs a grant (elactl grant add) or an owner credential (--credential FILE).
            """)

    @OptionGroup var options: DaemonOptions
    @Argument(help: "Method, e.g. gpio.read.") var method: String
    @Argument(help: "Params as a JSON object.") var params: String = "{}"
    @Option(name: .customLong("as"), help: "Identity folder that signs the request.") var identity: String?
    @Option(name: .long, help: "A DeviceAccessCredential (JSON file) issued by the device owner, presented with the request.")
    var credential: String?

    func run() throws {
        let p: JSONObject
        do {
            guard let o = try JSONParser.parse(params).objectValue else { throw ValidationError("params must be a JSON object") }
            p = o
        } catch let e as ValidationError {
            throw e
        } catch {
            throw ValidationError("params are not valid JSON: \(error)")
        }
        let request: JSONObject
        if let identity {
            request = ["request": .string(try signedRequest(identity: identity, method: method, params: p, credential: credential))]
        } else {
            guard credential == nil else { throw ValidationError("--credential needs --as (a credential is presented by a signed caller)") }
            request = ["method": .string(method), "params": .object(p)]
        }
        let r = try callAgent(options, "call", params: request)
        print(resultText(r, json: options.json))
    }
}

/// Reads a credential file (`elactl identity issue-access` writes one); exits with a message when it is not one.
func loadCredential(_ path: String) throws -> VerifiableCredential {
    do { return try VerifiableCredential(json: try JSONParser.parse(try FileSystem.readText(path))) } catch {
        printError("elactl: credential \(path): \(error)")
        throw ExitCode(2)
    }
}

/// Signs `method` with the identity in the folder `identity` (and presents a credential file if given).
func signedRequest(identity: String, method: String, params: JSONObject, credential: String?) throws -> String {
    let id: IdentityDirectory
    do { id = try IdentityDirectory.load(identity) } catch {
        printError("elactl: \(error)")
        throw ExitCode(2)
    }
    let vc = try credential.map(loadCredential)
    do {
        return try SignedRequest.sign(method: method, params: params, privateKey: id.key, did: id.did, credential: vc, now: Int64(time(nil))).text
    } catch {
        printError("elactl: cannot sign: \(error)")
        throw ExitCode(2)
    }
}

struct GrantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant", abstract: "Who may call what: grants in the agent's database.", subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant a DID a capability (gpio.write, gpio.*), optionally constrained and expiring.",
            discussion: "Example: elactl grant add did:elastos:i... gpio.write --constraint pin=LED0,LED1 --expires 2027-01-01T00:00:00Z")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Subject DID.") var subject: String
        @Argument(help: "Capability or pattern, e.g. gpio.write or gpio.*.") var capability: String
        @Option(name: .long, help: "param=value[,value...]: the call's param must be one of the values (repeatable).")
        var constraint: [String] = []
        @Option(name: .long, help: "Expiry: an ISO 8601 time (2027-01-01T00:00:00Z) or unix seconds.") var expires: String?
        @Option(name: .long, help: "A note kept with the grant.") var note: String = ""

        func run() throws {
            var params: JSONObject = ["subject": .string(subject), "capability": .string(capability), "note": .string(note)]
            if !constraint.isEmpty {
                do { params["constraints"] = try GrantConstraints(arguments: constraint).json } catch {
                    throw ValidationError("--constraint: \(error)")
                }
            }
            if let expires {
                if let seconds = Int64(expires) {
                    params["expiresAt"] = .number(JSONNumber(seconds))
                } else {
                    do { params["expiresAt"] = .number(JSONNumber(try DIDDate(expires).secondsSince1970)) } catch {
                        throw ValidationError("--expires: '\(expires)' is neither unix seconds nor a time like 2027-01-01T00:00:00Z")
                    }
                }
            }
            let r = try callAgent(options, "grant.add", params: params)
            if let warning = r["warning"]?.stringValue { printError("elactl: warning: \(warning)") }
            if options.json { return print(JSONWriter.pretty(r)) }
            var line = "grant \(fieldText(r)("id")): \(subject) may \(capability)"
            if !constraint.isEmpty { line += " where " + constraint.joined(separator: ", ") }
            if let at = params["expiresAt"]?.numberValue?.int64Value { line += " until \(DIDDate(secondsSince1970: at))" }
            print(line)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List grants.")
        @OptionGroup var options: DaemonOptions
        @Option(name: .long, help: "Only this DID's grants.") var subject: String?
        @Flag(name: .long, help: "Include expired grants.") var all = false

        func run() throws {
            var params: JSONObject = ["includeExpired": .bool(all)]
            if let subject { params["subject"] = .string(subject) }
            let r = try callAgent(options, "grant.list", params: params)
            if options.json { return print(JSONWriter.pretty(r)) }
            let grants = r.arrayValue ?? []
            if grants.isEmpty { print("no grants") }
            for g in grants {
                let s = fieldText(g)
                var line = "\(s("id"))\t\(s("subject"))\t\(s("capability"))"
                if let c = g["constraints"]?.objectValue, !c.isEmpty { line += "\t" + JSONWriter.compact(.object(c)) }
                if let at = g["expiresAt"]?.numberValue?.int64Value {
                    line += (g["expired"]?.boolValue == true ? "\texpired " : "\texpires ") + DIDDate(secondsSince1970: at).description
                }
                if let note = g["note"]?.stringValue, !note.isEmpty { line += "\t(\(note))" }
                print(line)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a grant (by id, see grant list).")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Grant id.") var id: Int64

        func run() throws {
            let r = try callAgent(options, "grant.revoke", params: ["id": .number(JSONNumber(id))])
            if options.json { return print(JSONWriter.pretty(r)) }
            print("revoked grant \(id) (\(fieldText(r)("subject")) \(fieldText(r)("capability")))")
        }
    }
}

struct OwnerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owner", abstract: "The device owner: its DeviceAccessCredentials count as grants.", subcommands: [Set.self, Show.self, Clear.self])

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the owner from its DID document (a JSON file).")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "The owner's DID document file.") var document: String
        @Flag(name: .long, help: "Replace another owner already set (every credential it issued stops counting).") var replace = false

        func run() throws {
            let text: String
            do { text = try FileSystem.readText(document) } catch {
                printError("elactl: \(error)")
                throw ExitCode(2)
            }
            let r = try callAgent(options, "owner.set", params: ["document": .string(text), "replace": .bool(replace)])
            if options.json { return print(JSONWriter.pretty(r)) }
            print("owner: \(fieldText(r)("did"))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the owner DID.")
        @OptionGroup var options: DaemonOptions
        func run() throws {
            let r = try callAgent(options, "owner.show")
            if options.json { return print(JSONWriter.pretty(r)) }
            print(r == .null ? "no owner set" : "owner: \(fieldText(r)("did")) (document expires \(fieldText(r)("expires")))")
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the owner: the credentials it issued stop counting (grants stay).")
        @OptionGroup var options: DaemonOptions
        func run() throws {
            let r = try callAgent(options, "owner.clear")
            if options.json { return print(JSONWriter.pretty(r)) }
            print(r["removed"]?.stringValue.map { "owner \($0) removed" } ?? "no owner was set")
        }
    }
}

/// `elactl credential revoke|unrevoke|list`: end an owner's credential on this device before it expires.
struct CredentialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential", abstract: "Revoke owner-issued credentials on this device (a lost phone, a DApp gone bad).",
        subcommands: [Revoke.self, Unrevoke.self, List.self])

    /// A credential file (its id is taken), a credential id, or a DID.
    static func key(_ argument: String) -> String {
        guard FileSystem.exists(argument), let text = try? FileSystem.readText(argument),
            let vc = try? VerifiableCredential(json: try JSONParser.parse(text))
        else { return argument }
        return vc.id.description
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a credential: calls presenting it are denied, sessions and subscriptions resting on it end.",
            discussion: """
                Name it by its file (elactl identity issue-access wrote it), its id (did:elastos:<holder>#<fragment>), \
                or the holder's DID to revoke every credential issued to it. Grants are not touched (elactl grant revoke).
                """)
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Credential file, credential id, or holder DID.") var credential: String
        @Option(name: .long, help: "Why (kept with the revocation and in the audit log).") var note = ""

        func run() throws {
            let key = CredentialCommand.key(credential)
            let r = try callAgent(options, "credential.revoke", params: ["key": .string(key), "note": .string(note)])
            if options.json { return print(JSONWriter.pretty(r)) }
            print(r["changed"] == .bool(true) ? "revoked: \(key)" : "\(key) was revoked already")
        }
    }

    struct Unrevoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a revocation back: the credential counts again until it expires.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Credential file, credential id, or holder DID, as revoked.") var credential: String

        func run() throws {
            let key = CredentialCommand.key(credential)
            let r = try callAgent(options, "credential.unrevoke", params: ["key": .string(key)])
            if options.json { return print(JSONWriter.pretty(r)) }
            print(r["changed"] == .bool(true) ? "counts again: \(key)" : "\(key) was not revoked")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The revoked credentials and holders.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "credential.list")
            if options.json { return print(JSONWriter.pretty(r)) }
            let rows = r.arrayValue ?? []
            if rows.isEmpty { return print("no credential is revoked") }
            for row in rows {
                let s = fieldText(row)
                print("\(s("key"))  revoked \(s("revokedAt"))\(row["note"]?.stringValue.map { $0.isEmpty ? "" : "  (\($0))" } ?? "")")
            }
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The hash-chained log of every gate decision.", subcommands: [List.self, Verify.self, Prune.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest audit rows, oldest first.")
        @OptionGroup var options: DaemonOptions
        @Option(name: .long, help: "Only this subject (a DID, uid:<n> or plugin:<name>).") var subject: String?
        @Option(name: .long, help: "allow or deny.") var decision: String?
        @Option(name: .shortAndLong, parsing: .unconditional, help: "How many rows (1-10000).") var limit: Int = 50

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1-10000") }
        }

        func run() throws {
            var params: JSONObject = ["limit": .number(JSONNumber(limit))]
            if let subject { params["subject"] = .string(subject) }
            if let decision { params["decision"] = .string(decision) }
            let r = try callAgent(options, "audit.list", params: params)
            if options.json { return print(JSONWriter.pretty(r)) }
            for row in r.arrayValue ?? [] {
                let s = fieldText(row)
                print("#\(s("seq")) \(s("decision")) \(s("subject")) \(s("method")) [\(s("capability"))]: \(s("reason"))")
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the hash chain: exits 1 when a row was edited or deleted.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "audit.verify")
            if options.json { print(JSONWriter.pretty(r)) } else { print(r["summary"]?.stringValue ?? "-") }
            if r["ok"]?.boolValue != true { throw ExitCode(1) }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the [audit] retention limits now (the agent does every few minutes).",
            discussion: """
                Removes the oldest rows past max_rows / max_age_days in agent.toml, after checking them against the chain; \
                the rest still verifies from where the cut ended. A row that does not verify stops it (kept as evidence).
                """)
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "audit.prune")
            if options.json { return print(JSONWriter.pretty(r)) }
            let limits = "max_rows \(r["maxRows"].map(JSONWriter.compact) ?? "-"), max_age_days \(r["maxAgeDays"].map(JSONWriter.compact) ?? "-")"
            let removed = r["removed"]?.numberValue?.int64Value ?? 0
            if let through = r["pruned"]?["throughSeq"]?.numberValue?.int64Value {
                print("removed \(removed) row(s) (\(limits)); the log now starts after row \(through)")
            } else {
                print("removed \(removed) row(s) (\(limits)); nothing was ever removed")
            }
        }
    }
}

extension IdentityCommand {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a caller identity (a DID and its key) in a folder, for elactl call --as.",
            discussion: "Prints the DID and the 12 recovery words once. The key is encrypted under a 0600 secret file in the folder.")
        @Option(name: .long, help: "Folder to create (must not hold an identity yet).") var dir: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() throws {
            let (id, words): (IdentityDirectory, String)
            do { (id, words) = try IdentityDirectory.create(at: dir, now: DIDDate(secondsSince1970: Int64(time(nil)))) } catch {
                printError("elactl: \(error)")
                throw ExitCode(2)
            }
            if json {
                return print(JSONWriter.pretty(.object(["did": .string(id.did.description), "dir": .string(dir), "mnemonic": .string(words)])))
            }
            print("DID:       \(id.did)")
            print("document:  \(dir)/document.json")
            print("mnemonic:  \(words)")
            print("(write the words down; they restore this identity)")
        }
    }
}

extension IdentityCommand {
    /// A DApp's (or owner's) DID on the ID chain: devices then verify it themselves by SPV instead of a pin.
    struct PublishRequest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish-request",
            abstract: "Print the signed ID-chain create request for a caller identity's DID document (JSON).",
            discussion: """
                Submit it to the chain (on the devnet: ela-regtest submit FILE); once it is confirmed, devices admit \
                the DID over the carrier without elactl peer pin. The device's own DID is published with elactl did publish.
                """)
        @Option(name: .long, help: "Identity folder (elactl identity create --dir).") var dir: String

        func run() throws {
            let id: IdentityDirectory
            do { id = try IdentityDirectory.load(dir) } catch {
                printError("elactl: \(error)")
                throw ExitCode(2)
            }
            guard let signKey = id.document.defaultKey?.id else {
                printError("elactl: \(dir)/document.json has no default key")
                throw ExitCode(2)
            }
            let request = try IDChainRequest.make(.create, document: id.document, signKey: signKey, key: id.key)
            print(JSONWriter.pretty(request.normalizedJSON()))
        }
    }
}

extension IdentityCommand {
    /// How an owner pairs a DApp without touching the device: a credential the DApp presents with its calls.
    struct IssueAccess: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue-access",
            abstract: "As the device owner, issue a DeviceAccessCredential that lets a DID call methods (prints JSON).",
            discussion: """
                The owner identity (elactl identity create --dir OWNER) must be the device's owner (elactl owner set \
                OWNER/document.json). The holder passes the credential with elactl call --as DIR --credential FILE.
                Example: elactl identity issue-access --dir owner --to did:elastos:i... --capability gpio.* \
                --constraint pin=LED0,LED1 --days 30 > dapp-access.json
                """)
        @Option(name: .long, help: "The owner's identity folder (it signs).") var dir: String
        @Option(name: .long, help: "The DID that may call.") var to: String
        @Option(name: .long, help: "Capability or pattern, e.g. gpio.read or gpio.* (repeatable).") var capability: [String]
        @Option(name: .long, help: "param=value[,value...]: the call's param must be one of the values (repeatable).")
        var constraint: [String] = []
        @Option(name: .long, help: "Only for this device DID (elactl identity show).") var device: String?
        @Option(name: .long, parsing: .unconditional, help: "Days until the credential expires.") var days: Int = 30

        func validate() throws {
            guard !capability.isEmpty else { throw ValidationError("name at least one --capability") }
            guard (1...1825).contains(days) else { throw ValidationError("--days must be 1...1825") }
        }

        func run() throws {
            let owner: IdentityDirectory
            do { owner = try IdentityDirectory.load(dir) } catch {
                printError("elactl: \(error)")
                throw ExitCode(2)
            }
            let subject: DID
            do { subject = try Gate.callerDID(to) } catch { throw ValidationError("--to: \(error)") }
            let deviceDID: DID?
            do { deviceDID = try device.map { try DID($0) } } catch { throw ValidationError("--device: \(error)") }
            let patterns: [CapabilityPattern]
            do { patterns = try capability.map { try CapabilityPattern($0) } } catch {
                throw ValidationError("--capability: \(error)")
            }
            let constraints: GrantConstraints
            do { constraints = constraint.isEmpty ? .none : try GrantConstraints(arguments: constraint) } catch {
                throw ValidationError("--constraint: \(error)")
            }
            let now = Int64(time(nil))
            do {
                // Its own id, so that `elactl credential revoke` can end this one and not the holder's others.
                let fragment = "device-access-" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
                let vc = try DeviceAccessCredential.issue(
                    to: subject, fragment: fragment, capabilities: patterns, device: deviceDID, constraints: constraints,
                    owner: owner.document, key: owner.key, issuanceDate: DIDDate(secondsSince1970: now),
                    expirationDate: DIDDate(secondsSince1970: now + Int64(days) * 86400))
                print(JSONWriter.compact(vc.normalizedJSON()))
                printError("issued \(vc.id) (revoke it on a device with: elactl credential revoke \(vc.id))")
            } catch {
                printError("elactl: cannot issue the credential: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

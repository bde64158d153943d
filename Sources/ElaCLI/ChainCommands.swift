import ArgumentParser
import ElaJSON

extension SPVCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the agent's header chain and its chain peer.")

        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "spv.status")
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            let s = fieldText(r)
            print("network:  \(s("network"))")
            print("height:   \(s("height")) (\(s("tipHash")))")
            if r["peersConfigured"]?.arrayValue?.isEmpty == true {
                print("peer:     none configured ([spv] peers in agent.toml): the chain is not synced; peers can only be pinned")
            } else {
                print("peer:     \(s("peer")) (\(s("phase")), peer height \(s("peerHeight")))")
            }
            if r["didAnchoring"]?.boolValue == false {
                print("verify:   DIDs are not on this chain (they live on the EID side chain): DApps must be pinned (elactl peer pin)")
            } else {
                print("verify:   \(s("confirmationsRequired")) confirmations")
            }
            if r["lastError"]?.stringValue != nil { print("last error: \(s("lastError"))") }
        }
    }
}

struct PeerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "Peers' DIDs as the chain proves them.", subcommands: [Verify.self, List.self, PeerPin.self, PeerUnpin.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every DID anchored in the blocks the agent has seen, and every pinned one, with its status.")

        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "peer.list")
            if options.json {
                print(JSONWriter.pretty(r))
                return
            }
            let items = r.arrayValue ?? []
            if items.isEmpty { print("no DIDs anchored in the blocks seen so far, and none pinned") }
            for item in items {
                var line = "\(item["did"]?.stringValue ?? "?")  \(item["status"]?.stringValue ?? "?")"
                if let c = item["confirmations"]?.numberValue?.text { line += "  \(c) confirmation(s)" }
                if item["pinned"]?.boolValue == true { line += "  pinned" }
                print(line)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a DID from the agent's own header chain and Merkle proofs.",
            discussion: "Exit 0 when verified (enough confirmations, document genuine and valid), 1 otherwise.")

        @Argument(help: "The DID, e.g. did:elastos:i...")
        var did: String

        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "peer.verify", params: JSONObject([("did", .string(did))]))
            let status = r["status"]?.stringValue ?? "?"
            if options.json {
                print(JSONWriter.pretty(r))
            } else {
                var line = "\(did): \(status)"
                if let c = r["confirmations"]?.numberValue?.text { line += ", \(c) confirmation(s)" }
                if let req = r["required"]?.numberValue?.text { line += " of \(req) required" }
                if let h = r["height"]?.numberValue?.text { line += ", block \(h)" }
                if let t = r["txid"]?.stringValue { line += ", tx \(t)" }
                if let reason = r["reason"]?.stringValue { line += ": \(reason)" }
                if r["pinned"]?.boolValue == true { line += " (pinned by an admin: the carrier admits it without a chain proof)" }
                print(line)
            }
            if status != "verified" { throw ExitCode(1) }
        }
    }
}

extension DIDCommand {
    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish the device DID document to the chain (create, or update after the first time).")

        @OptionGroup var options: DaemonOptions

        func run() throws {
            let r = try callAgent(options, "did.publish")
            if options.json {
                print(JSONWriter.pretty(r))
            } else {
                print("sent \(r["operation"]?.stringValue ?? "?") of \(r["did"]?.stringValue ?? "?") in transaction \(r["txid"]?.stringValue ?? "?")")
            }
        }
    }
}

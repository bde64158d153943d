import ArgumentParser
import ElaChain
import ElaCrypto
import ElaFileSystem
import ElaJSON
import ElaMerkle
import ElaWire

struct SPVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spv",
        abstract: "Block headers and Merkle proofs: offline checks, and the agent's header chain.",
        subcommands: [VerifyHeaders.self, VerifyProof.self, Status.self]
    )
}

enum ChainOption: String, ExpressibleByArgument, CaseIterable {
    case bitcoin, ela
    /// Each chain's mainnet rules (the real-data vectors and production).
    var parameters: ChainParameters { self == .bitcoin ? .bitcoinMainnet : .elaMainnet }
    var kind: ChainKind { self == .bitcoin ? .bitcoin : .ela }
}

func readInput(_ path: String) throws -> [UInt8] {
    do { return try FileSystem.read(path, limit: 1 << 30) } catch {
        printError("elactl: \(error)")
        throw ExitCode(2)
    }
}

extension SPVCommand {
    struct VerifyHeaders: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a file of contiguous raw headers: linkage, proof of work, retargets, median time, checkpoints.",
            discussion: """
                The first header is trusted as the anchor at --anchor-height. Exit 0 with the count, tip hash and total \
                work; 1 with the first failing height and the rule it broke; 2 when the file cannot be read.
                """
        )

        @Argument(help: "Raw headers back to back (Bitcoin: 80 bytes each; ELA: as serialized, with AuxPoW).")
        var file: String

        @Option(name: .long, help: "Which chain's format and rules.")
        var chain: ChainOption

        @Option(name: .long, help: "Height of the first header in the file.")
        var anchorHeight: UInt32 = 0

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let bytes = try readInput(file)
            switch HeaderRunVerifier.verify(bytes: bytes, chain: chain.kind, anchorHeight: anchorHeight, parameters: chain.parameters) {
            case .success(let s):
                if json {
                    print(
                        JSONWriter.pretty(
                            .object(
                                JSONObject([
                                    ("valid", true), ("count", .number(JSONNumber(s.count))),
                                    ("tipHeight", .number(JSONNumber(Int64(s.tipHeight)))), ("tipHash", .string(s.tipHash.displayHex)),
                                    ("totalWork", .string(s.totalWork.hexString)),
                                ]))))
                } else {
                    print("valid: \(s.count) headers, heights \(anchorHeight)...\(s.tipHeight)")
                    print("tip:   \(s.tipHash.displayHex)")
                    print("work:  0x\(s.totalWork.hexString)")
                }
            case .failure(let e):
                if json {
                    print(
                        JSONWriter.pretty(
                            .object(
                                JSONObject([
                                    ("valid", false), ("height", .number(JSONNumber(Int64(e.height)))),
                                    ("rule", .string(e.rule.rawValue)), ("reason", .string(e.message)),
                                ]))))
                } else {
                    print("INVALID at height \(e.height): \(e.rule.rawValue): \(e.message)")
                }
                throw ExitCode(1)
            }
        }
    }

    struct VerifyProof: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a Merkle inclusion proof (Bitcoin Core gettxoutproof format): root and header proof of work.",
            discussion: "Prints the block hash and the matched txids; exit 1 if the proof is invalid, 2 if unreadable."
        )

        @Argument(help: "The proof file (raw bytes, or hex as gettxoutproof prints it).")
        var file: String

        @Option(name: .long, help: "Which chain's header rules.")
        var chain: ChainOption = .bitcoin

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            var bytes = try readInput(file)
            // Accept the hex text `bitcoin-cli gettxoutproof` prints.
            if let text = String(validating: bytes, as: UTF8.self), let decoded = Self.hex(text) { bytes = decoded }
            guard chain == .bitcoin else {
                throw ValidationError("--chain ela proofs arrive as merkleblock messages; this command reads the Bitcoin gettxoutproof format")
            }
            let proof: TxOutProof
            let matches: [(index: UInt32, txid: Hash256)]
            do {
                proof = try TxOutProof(bytes: bytes)
                matches = try proof.verify()
                let header = try BitcoinHeader(bytes: proof.header80)
                guard let target = ProofOfWork.target(bits: header.bits), target <= chain.parameters.powLimit,
                    header.hashValue256 <= target
                else {
                    throw VerifyProofFailure(message: "the header's hash does not meet its target (bits 0x\(String(header.bits, radix: 16)))")
                }
            } catch {
                if json {
                    print(JSONWriter.pretty(.object(JSONObject([("valid", false), ("reason", .string("\(error)"))]))))
                } else {
                    print("INVALID: \(error)")
                }
                throw ExitCode(1)
            }
            if json {
                let items: [JSONValue] = matches.map {
                    .object(JSONObject([("index", .number(JSONNumber(Int64($0.index)))), ("txid", .string($0.txid.displayHex))]))
                }
                print(
                    JSONWriter.pretty(
                        .object(
                            JSONObject([
                                ("valid", true), ("blockHash", .string(proof.blockHash.displayHex)),
                                ("transactions", .number(JSONNumber(Int64(proof.tree.totalTransactions)))), ("matches", .array(items)),
                            ]))))
            } else {
                print("valid: block \(proof.blockHash.displayHex) (\(proof.tree.totalTransactions) transactions)")
                for m in matches { print("  tx \(m.index): \(m.txid.displayHex)") }
            }
        }

        /// The hex text `gettxoutproof` prints (whitespace ignored), or nil if the file is not hex.
        static func hex(_ text: String) -> [UInt8]? {
            let compact = String(text.unicodeScalars.filter { !$0.properties.isWhitespace })
            guard !compact.isEmpty else { return nil }
            return try? Hex.decode(compact)
        }
    }
}

struct VerifyProofFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

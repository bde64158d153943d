import ArgumentParser
import ElaCrypto
import ElaIdentity
import ElaFileSystem
import ElaJSON

struct DIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "did",
        abstract: "Work with Elastos DIDs (all offline except publish).",
        subcommands: [Derive.self, Normalize.self, Verify.self, Restore.self, Publish.self]
    )
}

extension DIDCommand {
    struct Derive: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the DID of a public key (publicKeyBase58).")

        @Argument(help: "The compressed P-256 public key in Base58, as in a DID document.")
        var publicKeyBase58: String

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let key: ElaPublicKey
            do { key = try ElaPublicKey(base58: publicKeyBase58) } catch {
                throw ValidationError("'\(publicKeyBase58)' is not a P-256 public key in Base58: \(error)")
            }
            let did = ElaAddress.did(for: key)
            if json {
                print(JSONWriter.pretty(.object(JSONObject([("did", .string(did)), ("publicKeyBase58", .string(key.base58))]))))
            } else {
                print(did)
            }
        }
    }

    struct Normalize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the canonical (normalized) form of a DID document, credential, presentation, ticket or request."
        )

        @Argument(help: "A JSON file (pretty, compact or normalized).")
        var file: String

        func run() throws {
            let object = try loadObject(file)
            print(Canonical.string(object.normalizedJSON()))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a DID document, credential, presentation, transfer ticket or ID-chain request.",
            discussion: """
                Exit status: 0 genuine (and valid at --at when given), 1 not genuine or not valid (the reason is \
                printed), 2 the input cannot be read or parsed.
                """
        )

        @Argument(help: "The JSON file to verify; its kind is detected.")
        var file: String

        @Option(name: .long, help: "A directory of DID documents used to resolve issuers, holders and controllers.")
        var resolveDir: String?

        @Option(name: .long, help: "Also check validity (expiry) at this time, e.g. 2022-01-01T00:00:00Z.")
        var at: String?

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            var time: DIDDate?
            if let at {
                do { time = try DIDDate(at) } catch { throw ValidationError("--at: \(error.message)") }
            }
            let object = try loadObject(file)
            var resolver = DIDDocumentSet()
            if let resolveDir {
                let names: [String]
                do { names = try FileSystem.regularFiles(in: resolveDir) } catch {
                    printError("elactl: \(error)")
                    throw ExitCode(2)
                }
                for name in names where name.hasSuffix(".json") {
                    // Files that are not DID documents (credentials, ...) are simply not used for resolving.
                    if let bytes = try? FileSystem.read(resolveDir + "/" + name), let v = try? JSONParser.parse(bytes: bytes),
                        case .document(let d)? = try? DIDObject(json: v)
                    {
                        resolver.add(d)
                    }
                }
            }
            if case .document(let d) = object { resolver.add(d) }
            let verifier = DIDVerifier(resolver: resolver)
            let summary = describe(object)
            var failure: DIDError?
            do {
                if let time { try verifier.checkValid(object, at: time) } else { try verifier.checkGenuine(object) }
            } catch { failure = error }

            if json {
                var o = JSONObject([("kind", .string(object.kindName)), ("subject", .string(summary))])
                o["genuine"] = .bool(failure == nil || failure?.code == .notValid)
                if let time { o["validAt"] = .string(time.description); o["valid"] = .bool(failure == nil) }
                if let failure { o["reason"] = .string(failure.message) }
                if failure?.code == .unresolved { o["unresolved"] = .bool(true) }
                print(JSONWriter.pretty(.object(o)))
            } else if let failure, failure.code == .unresolved {
                // Not a forgery as far as anyone can tell: a signer's document is missing.
                print("CANNOT VERIFY: \(object.kindName) \(summary)")
                print("reason: \(failure.message)" + (resolveDir == nil ? " (give the signers' DID documents with --resolve-dir)" : ""))
            } else if let failure {
                print("NOT \(failure.code == .notValid ? "VALID" : "GENUINE"): \(object.kindName) \(summary)")
                print("reason: \(failure.message)")
            } else {
                print("\(time == nil ? "GENUINE" : "VALID"): \(object.kindName) \(summary)")
                if let time { print("valid at \(time)") }
            }
            if failure != nil { throw ExitCode(1) }
        }

        func describe(_ object: DIDObject) -> String {
            switch object {
            case .document(let d):
                "\(d.subject) (signed by \(d.proofs.map(\.creator.description).joined(separator: ", ")))"
            case .credential(let c):
                "\(c.id) (issuer \(c.issuer), signed by \(c.proof?.verificationMethod.description ?? "nobody"))"
            case .presentation(let p):
                "\(p.id?.description ?? "(no id)") (holder \(p.holder?.description ?? "?"), \(p.credentials.count) credential(s))"
            case .ticket(let t): "\(t.id) -> \(t.to)"
            case .request(let r):
                "\(r.operation.rawValue) of \((try? r.subjectDID().description) ?? "?") (signed by \(r.proof?.verificationMethod.description ?? "nobody"))"
            }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Derive the DID at an index of a BIP39 mnemonic (the Elastos SDK path m/44'/0'/0'/0/index)."
        )

        @Option(name: .long, help: "The mnemonic words (English BIP39 list), in quotes.")
        var mnemonic: String

        @Option(name: .long, help: "The mnemonic passphrase, if one was used.")
        var passphrase: String = ""

        @Option(name: .long, help: "The identity index.")
        var index: UInt32 = 0

        @Flag(name: .long, help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let words: Mnemonic
            do { words = try Mnemonic(phrase: mnemonic) } catch { throw ValidationError("--mnemonic: \(error)") }
            let key: HDKey
            do { key = try HDKey.identityKey(mnemonic: words, passphrase: passphrase, index: index) } catch {
                throw ValidationError("cannot derive index \(index): \(error)")
            }
            let did = ElaAddress.did(for: key.publicKey)
            if json {
                print(
                    JSONWriter.pretty(
                        .object(
                            JSONObject([
                                ("did", .string(did)), ("index", .number(JSONNumber(Int(index)))),
                                ("publicKeyBase58", .string(key.publicKey.base58)),
                            ]))))
            } else {
                print(did)
            }
        }
    }
}

/// Reads and decodes a DID object; unreadable or unparseable input exits with status 2.
func loadObject(_ path: String) throws -> DIDObject {
    do {
        let bytes = try FileSystem.read(path)
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: bytes) } catch {
            printError("elactl: \(path): \(error)")
            throw ExitCode(2)
        }
        do { return try DIDObject(json: value) } catch {
            printError("elactl: \(path): \(error.message)")
            throw ExitCode(2)
        }
    } catch let e as FileSystemError {
        printError("elactl: \(e)")
        throw ExitCode(2)
    }
}

import ElaCrypto
import ElaIdentity
import ElaJSON
import ElaTestSupport

/// Loads the shared Elastos DID vectors.
enum Vectors {
    static let dir = TestData.path("elastos-did")

    static func json(_ relative: String) throws -> JSONValue {
        guard let bytes = TestData.read(dir + "/" + relative) else { throw VectorError("cannot read \(relative)") }
        return try JSONParser.parse(bytes: bytes)
    }

    static func text(_ relative: String) throws -> String {
        guard let s = TestData.readString(dir + "/" + relative) else { throw VectorError("cannot read \(relative)") }
        return s
    }

    /// Every DID document among the vectors, as a resolver (what `--resolve-dir` does for the CLI).
    static func resolver() throws -> DIDDocumentSet {
        var set = DIDDocumentSet()
        for file in TestData.listFiles(dir) where file.hasSuffix(".json") && file.contains(".id.") {
            if case .document(let d) = try DIDObject(json: try json(file)) { set.add(d) }
        }
        return set
    }

    static func expectedEntries() throws -> [JSONObject] {
        try (json("expected.json")["entries"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(Digest.sha256(bytes)) }
}

struct VectorError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension DIDObject {
    /// The exact bytes the object's (first) signature covers.
    var signingInput: [UInt8] {
        switch self {
        case .document(let d): d.signingInput
        case .credential(let c): c.signingInput
        case .presentation(let p): p.signingInput(realm: p.proof?.realm ?? "", nonce: p.proof?.nonce ?? "")
        case .ticket(let t): t.signingInput
        case .request(let r): r.signingInput
        }
    }

    var signers: [String] {
        switch self {
        case .document(let d): d.proofs.map(\.creator.description)
        case .credential(let c): c.proof.map { [$0.verificationMethod.description] } ?? []
        case .presentation(let p): p.proof.map { [$0.verificationMethod.description] } ?? []
        case .ticket(let t): t.proofs.map(\.verificationMethod.description)
        case .request(let r): r.proof.map { [$0.verificationMethod.description] } ?? []
        }
    }
}

public import ElaJSON

/// Finds the current document of a DID. The SPV layer will provide a chain-backed resolver; tests and the CLI
/// use documents from files.
public protocol DIDResolver: Sendable {
    func resolve(_ did: DID) throws(DIDError) -> DIDDocument?
}

/// A fixed set of documents, e.g. every document in `elactl did verify --resolve-dir DIR`.
public struct DIDDocumentSet: DIDResolver {
    public private(set) var documents: [DID: DIDDocument] = [:]

    public init(_ documents: [DIDDocument] = []) {
        for d in documents { add(d) }
    }

    public mutating func add(_ document: DIDDocument) {
        // Keep the first one seen; a second copy of the same DID (pretty vs normalized file) is the same document.
        if documents[document.subject] == nil { documents[document.subject] = document }
    }

    public func resolve(_ did: DID) throws(DIDError) -> DIDDocument? { documents[did] }
}

/// Any of the signed Elastos objects, detected from its shape.
public enum DIDObject: Sendable {
    case document(DIDDocument)
    case credential(VerifiableCredential)
    case presentation(VerifiablePresentation)
    case ticket(TransferTicket)
    case request(IDChainRequest)

    public var kindName: String {
        switch self {
        case .document: "DID document"
        case .credential: "verifiable credential"
        case .presentation: "verifiable presentation"
        case .ticket: "transfer ticket"
        case .request: "ID-chain request"
        }
    }

    /// Decides by the members present: `header`+`payload` is a request, `credentialSubject` a credential,
    /// `verifiableCredential`+`proof.realm`/`VerifiablePresentation` type a presentation, `to`+`txid` a ticket,
    /// `expires` a document.
    public init(json: JSONValue) throws(DIDError) {
        guard let o = json.objectValue else {
            throw DIDError(.malformed, "expected a JSON object, found \(json.kindName)")
        }
        if o["header"] != nil && o["payload"] != nil {
            self = .request(try IDChainRequest(json: json))
        } else if o["credentialSubject"] != nil {
            self = .credential(try VerifiableCredential(json: json))
        } else if Self.isPresentation(o) {
            self = .presentation(try VerifiablePresentation(json: json))
        } else if o["to"] != nil && o["txid"] != nil {
            self = .ticket(try TransferTicket(json: json))
        } else if o["expires"] != nil || o["publicKey"] != nil {
            self = .document(try DIDDocument(json: json))
        } else {
            throw DIDError(
                .malformed,
                "not a DID document, credential, presentation, transfer ticket or ID-chain request (members: \(o.keys.joined(separator: ", ")))"
            )
        }
    }

    public init(text: String) throws(DIDError) {
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch { throw DIDError(.malformed, error.description) }
        try self.init(json: json)
    }

    private static func isPresentation(_ o: JSONObject) -> Bool {
        if o["proof"]?["realm"] != nil { return true }
        if o["holder"] != nil { return true }
        if let t = o["type"] {
            if t.stringValue == "VerifiablePresentation" { return true }
            if let a = t.arrayValue, a.contains(.string("VerifiablePresentation")) { return true }
        }
        return false
    }

    public func normalizedJSON() -> JSONValue {
        switch self {
        case .document(let d): d.normalizedJSON()
        case .credential(let c): c.normalizedJSON()
        case .presentation(let p): p.normalizedJSON()
        case .ticket(let t): t.normalizedJSON()
        case .request(let r): r.normalizedJSON()
        }
    }
}

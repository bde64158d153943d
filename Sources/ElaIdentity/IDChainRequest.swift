public import ElaJSON
internal import ElaCrypto

/// An ID-chain request ("DID transaction") that publishes, updates, transfers or deactivates a DID.
public struct IDChainRequest: Sendable, Hashable, NormalizedJSONRepresentable {
    public enum Operation: String, Sendable, Hashable {
        case create, update, transfer, deactivate
    }

    public struct Proof: Sendable, Hashable {
        public var type: String
        public var verificationMethod: DIDURL
        public var signature: String
    }

    public static let didSpecification = "elastos/did/1.0"

    public var specification: String
    public var operation: Operation
    public var previousTxid: String?
    /// Base64url of the normalized transfer ticket (transfer only).
    public var ticket: String?
    /// Base64url of the normalized document with proof, or for `deactivate` the DID itself.
    public var payload: String
    public var proof: Proof?

    public init(json: JSONValue) throws(DIDError) {
        let f = try JSONFields(json, context: "ID-chain request")
        guard let h = f.object["header"] else { throw f.fail("missing 'header'") }
        let hf = try JSONFields(h, context: "ID-chain request header")
        specification = try hf.string("specification")
        guard specification == Self.didSpecification else {
            throw hf.fail("unsupported specification '\(specification)' (expected \(Self.didSpecification))")
        }
        let op = try hf.string("operation")
        guard let operation = Operation(rawValue: op.lowercased()) else { throw hf.fail("unknown operation '\(op)'") }
        self.operation = operation
        previousTxid = try hf.optionalString("previousTxid")
        ticket = try hf.optionalString("ticket")
        if operation == .update && previousTxid == nil { throw hf.fail("an update needs 'previousTxid'") }
        if operation == .transfer && ticket == nil { throw hf.fail("a transfer needs 'ticket'") }
        payload = try f.string("payload")
        if let p = f.object["proof"], !p.isNull {
            let pf = try JSONFields(p, context: "ID-chain request proof")
            let subject = try? self.subjectDID()
            proof = Proof(
                type: try pf.optionalString("type") ?? defaultKeyType,
                verificationMethod: try pf.url("verificationMethod", base: subject), signature: try pf.string("signature"))
        }
    }

    init(operation: Operation, previousTxid: String?, ticket: String?, payload: String) {
        self.specification = Self.didSpecification
        self.operation = operation
        self.previousTxid = operation == .update ? previousTxid : nil
        self.ticket = operation == .transfer ? ticket : nil
        self.payload = payload
    }

    /// The signed bytes: specification || operation || previousTxid (update) || ticket (transfer) || payload text.
    public var signingInput: [UInt8] {
        var out = Array(specification.utf8) + Array(operation.rawValue.utf8)
        if operation == .update { out += Array((previousTxid ?? "").utf8) }
        if operation == .transfer { out += Array((ticket ?? "").utf8) }
        return out + Array(payload.utf8)
    }

    /// The document carried by create/update/transfer.
    public func document() throws(DIDError) -> DIDDocument {
        guard operation != .deactivate else { throw DIDError(.malformed, "a deactivate request carries no document") }
        let bytes: [UInt8]
        do { bytes = try Base64URL.decode(payload) } catch {
            throw DIDError(.malformed, "ID-chain request payload is not base64url: \(error)")
        }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes: bytes) } catch {
            throw DIDError(.malformed, "ID-chain request payload: \(error)")
        }
        return try DIDDocument(json: json)
    }

    /// The DID the request is about.
    public func subjectDID() throws(DIDError) -> DID {
        if operation == .deactivate { return try DID(payload) }
        return try document().subject
    }

    public func decodedTicket() throws(DIDError) -> TransferTicket? {
        guard let ticket else { return nil }
        do {
            return try TransferTicket(json: try JSONParser.parse(bytes: try Base64URL.decode(ticket)))
        } catch let e as DIDError { throw e } catch { throw DIDError(.malformed, "ID-chain request ticket: \(error)") }
    }

    public func normalizedJSON() -> JSONValue {
        var h = JSONObject([("specification", .string(specification)), ("operation", .string(operation.rawValue))])
        h.put("previousTxid", operation == .update ? previousTxid.map(JSONValue.string) : nil)
        h.put("ticket", operation == .transfer ? ticket.map(JSONValue.string) : nil)
        var o = JSONObject([("header", .object(h)), ("payload", .string(payload))])
        if let proof {
            o["proof"] = .object(
                JSONObject([
                    ("type", .string(proof.type)), ("verificationMethod", .string(proof.verificationMethod.description)),
                    ("signature", .string(proof.signature)),
                ]))
        }
        return .object(o)
    }
}

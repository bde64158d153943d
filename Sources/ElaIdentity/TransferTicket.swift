public import ElaJSON

/// A transfer ticket: the controllers of a customized DID hand it to a new controller.
public struct TransferTicket: Sendable, Hashable, NormalizedJSONRepresentable {
    public struct Proof: Sendable, Hashable {
        public var type: String
        public var created: DIDDate?
        public var verificationMethod: DIDURL
        public var signature: String
    }

    public var id: DID
    public var to: DID
    public var txid: String
    public var proofs: [Proof]

    public init(json: JSONValue) throws(DIDError) {
        let f = try JSONFields(json, context: "transfer ticket")
        id = try f.did("id")
        to = try f.did("to")
        txid = try f.string("txid")
        var proofs: [Proof] = []
        for (i, p) in (try f.objectOrObjects("proof") ?? []).enumerated() {
            let pf = try JSONFields(p, context: "transfer ticket proof[\(i)]")
            proofs.append(
                Proof(
                    type: try pf.optionalString("type") ?? defaultKeyType, created: try pf.optionalDate("created"),
                    verificationMethod: try pf.url("verificationMethod", base: nil), signature: try pf.string("signature")))
        }
        self.proofs = proofs.sorted {
            let rc = javaCreatedOrder($0.created, $1.created)
            return rc != 0 ? rc < 0 : $0.verificationMethod < $1.verificationMethod
        }
    }

    public func normalizedJSON() -> JSONValue { normalized(includeProof: true) }

    public var signingInput: [UInt8] { Canonical.bytes(normalized(includeProof: false)) }
    var signingInputVariants: [[UInt8]] { Canonical.variants(normalized(includeProof: false)) }

    func normalized(includeProof: Bool) -> JSONValue {
        var o = JSONObject([("id", .string(id.description)), ("to", .string(to.description)), ("txid", .string(txid))])
        if includeProof && !proofs.isEmpty {
            let items: [JSONValue] = proofs.map { p in
                var po = JSONObject()
                po["type"] = .string(p.type)
                po.put("created", p.created.map { .string($0.description) })
                po["verificationMethod"] = .string(p.verificationMethod.description)
                po["signature"] = .string(p.signature)
                return .object(po)
            }
            o["proof"] = items.count == 1 ? items[0] : .array(items)
        }
        return .object(o)
    }
}

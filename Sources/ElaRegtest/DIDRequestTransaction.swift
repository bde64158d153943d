public import ElaChain
public import ElaJSON
internal import ElaCrypto
internal import ElaIdentity

/// Turns an ID-chain request (the JSON a DID SDK publishes) into the regtest chain's `registerDID` transaction.
/// The node only decodes the request; signatures are the clients' business (they verify what they fetch).
public enum DIDRequestTransaction {
    /// The transaction carrying `request`: payload = the request's compact JSON (member order and number text
    /// kept), program hash = the subject DID's 21-byte program (0x67 || hash160, the Base58Check-decoded
    /// method-specific id), which is what an SPV client watching that DID loads into its bloom filter.
    public static func make(request: JSONValue, nonce: UInt64) throws(RegtestError) -> ChainTransaction {
        let object: DIDObject
        do { object = try DIDObject(json: request) } catch {
            throw RegtestError(.invalidRequest, "not a valid ID-chain request: \(error)")
        }
        guard case .request(let decoded) = object else {
            throw RegtestError(.invalidRequest, "expected an ID-chain request (header + payload), got a \(object.kindName)")
        }
        let subject: DID
        do { subject = try decoded.subjectDID() } catch {
            throw RegtestError(.invalidRequest, "cannot read the ID-chain request's subject DID: \(error)")
        }
        let program = try programHash(of: subject.methodSpecificId)
        let payload = JSONWriter.compactBytes(request)
        guard payload.count <= ChainTransaction.maxPayload else {
            throw RegtestError(.invalidRequest, "request is \(payload.count) bytes; the limit is \(ChainTransaction.maxPayload)")
        }
        return ChainTransaction(kind: .registerDID, payload: payload, programHash: program, nonce: nonce)
    }

    /// The 21-byte program of a DID's method-specific id (Base58Check without its checksum).
    public static func programHash(of methodSpecificId: String) throws(RegtestError) -> [UInt8] {
        let program: [UInt8]
        do { program = try Base58.decodeCheck(methodSpecificId) } catch {
            throw RegtestError(
                .invalidRequest, "DID id '\(methodSpecificId)' is not Base58Check (customized DIDs are not supported): \(error)")
        }
        guard program.count == ChainTransaction.programHashSize else {
            throw RegtestError(
                .invalidRequest,
                "DID id '\(methodSpecificId)' decodes to \(program.count) bytes, not a \(ChainTransaction.programHashSize)-byte program")
        }
        return program
    }
}

public import ElaCrypto
public import ElaIdentity
public import ElaJSON

/// A verifiable credential by which the device owner lets a caller use this device for a while: type
/// `DeviceAccessCredential`, issued by the owner DID, `credentialSubject.id` the caller, and claims
///
/// - `capabilities`: array of capability patterns (required, non-empty);
/// - `device`: this device's DID (optional; if present it must match);
/// - `constraints`: object of param name to array of allowed strings (optional), applied to every capability.
///
/// A caller attaches it to a signed request; for that call its capabilities act as grants.
public struct DeviceAccessCredential: Sendable, Equatable {
    public static let type = "DeviceAccessCredential"

    public let credential: VerifiableCredential
    public let capabilities: [CapabilityPattern]
    public let device: DID?
    public let constraints: GrantConstraints
    /// The stored owner document it was verified against (set by ``Gate/verifyCredential(_:caller:now:)``): a
    /// session that keeps the credential has it checked again once that document changes (a rotated owner key).
    public internal(set) var ownerDocumentText: String?

    /// The credential id, e.g. `did:elastos:<caller>#device-access`.
    public var id: DIDURL { credential.id }

    /// Checks a credential for a call by `caller`: its shape, that the owner issued it to the caller (for this
    /// device), that the owner's signature verifies (against `owner`, no chain lookup) and that it is valid at `now`.
    public init(
        verifying credential: VerifiableCredential, owner: DIDDocument, caller: DID, device: DID?, now: Int64
    ) throws(CredentialError) {
        guard credential.types.contains(Self.type) else { throw .notDeviceAccess(types: credential.types) }
        guard credential.issuer == owner.subject else {
            throw .wrongIssuer(issuer: credential.issuer.description, owner: owner.subject.description)
        }
        guard credential.subject == caller else {
            throw .wrongSubject(subject: credential.subject.description, caller: caller.description)
        }
        var named: DID?
        if let value = credential.claims["device"] {
            guard let text = value.stringValue, let did = try? DID(text) else { throw .malformed("'device' must be a DID string") }
            guard let device else { throw .deviceUnknown(named: did.description) }
            guard did == device else { throw .otherDevice(named: did.description, this: device.description) }
            named = did
        }
        guard let list = credential.claims["capabilities"]?.arrayValue, !list.isEmpty else {
            throw .malformed("'capabilities' must be a non-empty array of capability patterns")
        }
        var patterns: [CapabilityPattern] = []
        for item in list {
            guard let text = item.stringValue else { throw .malformed("'capabilities' entries must be strings, found \(item.kindName)") }
            do { patterns.append(try CapabilityPattern(text)) } catch { throw .malformed(error.description) }
        }
        var constraints = GrantConstraints.none
        if let value = credential.claims["constraints"] {
            do { constraints = try GrantConstraints(json: value) } catch { throw .malformed(error.description) }
        }
        do {
            try DIDVerifier(resolver: DIDDocumentSet([owner])).checkGenuine(credential)
        } catch {
            throw .notGenuine(error.message)
        }
        guard now <= credential.expirationDate.secondsSince1970 else { throw .expired(credential.expirationDate) }
        guard credential.issuanceDate.secondsSince1970 <= now else { throw .notYetValid(credential.issuanceDate) }
        self.credential = credential
        self.capabilities = patterns
        self.device = named
        self.constraints = constraints
    }

    /// The claims of a device access credential (`capabilities`, optional `device` and `constraints`).
    public static func claims(
        capabilities: [CapabilityPattern], device: DID? = nil, constraints: GrantConstraints = .none
    ) -> JSONObject {
        var claims = JSONObject()
        claims["capabilities"] = .array(capabilities.map { .string($0.text) })
        if let device { claims["device"] = .string(device.description) }
        if !constraints.isEmpty { claims["constraints"] = constraints.json }
        return claims.sortedRecursively()
    }

    /// Issues a device access credential as the owner (what `elactl` or an owner's wallet does).
    /// `fragment` names it under the subject: `did:elastos:<subject>#<fragment>`.
    public static func issue(
        to subject: DID, fragment: String = "device-access", capabilities: [CapabilityPattern], device: DID? = nil,
        constraints: GrantConstraints = .none, owner: DIDDocument, signKey: DIDURL? = nil, key: ElaPrivateKey,
        issuanceDate: DIDDate, expirationDate: DIDDate
    ) throws(DIDError) -> VerifiableCredential {
        guard let signKey = signKey ?? owner.defaultKeyId else {
            throw DIDError(.signing, "the owner document \(owner.subject) has no default key; name the signing key")
        }
        return try VerifiableCredential.issue(
            id: DIDURL(did: subject, fragment: fragment), types: [type], subject: subject,
            claims: claims(capabilities: capabilities, device: device, constraints: constraints), issuer: owner,
            signKey: signKey, key: key, issuanceDate: issuanceDate, expirationDate: expirationDate)
    }
}

/// Why an attached credential was refused; the description is the gate's deny reason.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    case noOwner
    case ownerUnreadable(String)
    case ownerDeactivated(String)
    case notDeviceAccess(types: [String])
    case wrongIssuer(issuer: String, owner: String)
    case wrongSubject(subject: String, caller: String)
    /// The credential names a device but the gate was not told this device's DID.
    case deviceUnknown(named: String)
    case otherDevice(named: String, this: String)
    case malformed(String)
    case notGenuine(String)
    case expired(DIDDate)
    case notYetValid(DIDDate)
    /// The admin revoked it (`elactl credential revoke`): by its id, or every credential of its holder's DID.
    case revoked(key: String, note: String)
    /// The revocation list could not be read (the credential is refused meanwhile).
    case revocationUnreadable(String)

    /// The device's own storage failed: no verdict on the credential or its holder.
    public var isStorageFailure: Bool {
        switch self {
        case .ownerUnreadable, .revocationUnreadable: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .noOwner: "credential: no owner is configured (elactl owner set)"
        case .ownerUnreadable(let message): "credential: the stored owner document is unreadable: \(message)"
        case .ownerDeactivated(let did): "credential: the owner \(did) is deactivated"
        case .notDeviceAccess(let types): "credential: type \(types.joined(separator: ",")) is not \(DeviceAccessCredential.type)"
        case .wrongIssuer(let issuer, let owner): "credential: issuer \(issuer) is not the owner \(owner)"
        case .wrongSubject(let subject, let caller): "credential: subject \(subject) is not the caller \(caller)"
        case .deviceUnknown(let named): "credential: names device \(named) but this gate has no device DID configured"
        case .otherDevice(let named, let this): "credential: for device \(named), not this device \(this)"
        case .malformed(let message): "credential: \(message)"
        case .notGenuine(let message): "credential: not genuine: \(message)"
        case .expired(let date): "credential: expired at \(date)"
        case .notYetValid(let date): "credential: not valid before \(date)"
        case .revoked(let key, let note): "credential: revoked on this device (\(key))" + (note.isEmpty ? "" : ": \(note)")
        case .revocationUnreadable(let message): "credential: the revocation list is unreadable: \(message)"
        }
    }
}

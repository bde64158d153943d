import ElaCrypto
import ElaGate
import ElaIdentity
import ElaJSON
import ElaSQLite
import ElaStorage
import ElaTestSupport

/// 2025-11-24T16:00:00Z: the tests' clock, in unix seconds.
let testNow: Int64 = 1_764_000_000

/// Method to capability, as the daemon builds it from plugin manifests.
let testMethods: [String: String] = [
    "gpio.write": "gpio.write", "gpio.read": "gpio.read", "gpio.watch": "gpio.read", "sensors.list": "sensors.read",
]

/// Event to the capability a subscription needs, as the daemon builds it from plugin manifests.
let testEvents: [String: String] = ["sensors.reading": "sensors.subscribe", "gpio.edge": "gpio.subscribe"]

/// A caller: a fresh P-256 key and its primitive DID.
struct Caller {
    let key: ElaPrivateKey
    let did: DID

    init() throws {
        key = ElaPrivateKey.generate()
        did = try DID(ElaAddress.did(for: key.publicKey))
    }

    /// A signed request from this caller.
    func request(
        _ method: String = "gpio.write", params: JSONObject = ["pin": "LED0", "value": 1], at time: Int64 = testNow,
        nonce: String? = nil, credential: VerifiableCredential? = nil
    ) throws -> SignedRequest {
        try SignedRequest.sign(
            method: method, params: params, privateKey: key, did: did, credential: credential, now: time, nonce: nonce)
    }

    /// A signed, valid, self-issued primitive DID document for this caller.
    func document(now: Int64 = testNow) throws -> DIDDocument {
        let created = DIDDate(secondsSince1970: now)
        return try DIDDocument.primitive(for: key.publicKey, now: created).signed(with: key, created: created)
    }
}

/// A gate over a real SQLite file in a temporary directory.
final class GateFixture {
    let dir = TemporaryDirectory(prefix: "ela-gate")
    let store: AgentStore
    let gate: Gate
    var path: String { dir.path + "/" + AgentStore.fileName }

    init(configuration: GateConfiguration = GateConfiguration()) throws {
        store = try AgentStore(path: dir.path + "/" + AgentStore.fileName)
        gate = Gate(store: store, configuration: configuration, capabilityOf: { testMethods[$0] }, eventCapabilityOf: { testEvents[$0] })
    }

    deinit {
        store.close()
        dir.remove()
    }

    /// Judges a signed request sent as text, as the daemon would.
    func send(_ request: SignedRequest, at time: Int64 = testNow) -> GateDecision {
        gate.authorize(.signed(request, rawJSON: request.text), now: time)
    }

    @discardableResult
    func grant(
        _ did: DID, _ capability: String, _ constraints: [String: [String]] = [:], expiresAt: Int64? = nil
    ) throws -> Grant {
        try gate.addGrant(
            subject: did.description, capability: capability, constraints: try GrantConstraints(constraints),
            expiresAt: expiresAt, note: "test", uid: 0, now: testNow)
    }

    /// A second connection for editing the file behind the gate's back (after the journal's rows are moved in, as
    /// they are when the agent stops).
    func raw() throws -> SQLiteConnection {
        try gate.audit.flush()
        return try SQLiteConnection(path: path)
    }
}

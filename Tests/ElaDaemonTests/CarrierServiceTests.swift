import ElaCarrier
import ElaCrypto
@testable import ElaDaemon
import ElaIdentity
import ElaPluginHost
import ElaStorage
import ElaTestSupport
import Logging
import Synchronization
import Testing

@Suite struct CarrierServiceTests {
    /// Each subscription is a queue and a task, and every event is matched against all of them: a DApp looping
    /// subscribe gets a typed refusal past 32, before the gate (no audit row per attempt). Renewing an id it holds is
    /// not a new one.
    @Test func aSessionHoldsAtMostThirtyTwoSubscriptions() throws {
        let dir = TemporaryDirectory(prefix: "ela-carrier-service")
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        defer { store.close() }
        let did = try DID(ElaAddress.did(for: ElaPrivateKey.generate().publicKey))
        let service = CarrierService(deviceDID: did, store: store, late: LateBinding(), spvVerified: { _ in false }, logger: Logger(label: "test"))
        let bus = EventBus()
        var session = CarrierService.Session(did: did, challenge: "c")
        for id in 1...Int64(CarrierService.maxSubscriptionsPerSession) {
            session.subscriptions[id] = bus.subscribe(patterns: ["sensors.reading"], capacity: 1)
        }
        service.state.withLock { $0.sessions["k"] = session }
        let request = SessionRequest.signed("{}")
        guard case .failure(let refused) = service.subscribe("k", session, 99, request) else {
            Issue.record("a 33rd subscription was taken")
            return
        }
        #expect(refused.code == RemoteError.tooManySubscriptions)
        #expect(refused.message.contains("holds 32 subscriptions"))
        // An id the session holds passes the count (and goes on to the gate, which this bare service lacks).
        guard case .failure(let renewed) = service.subscribe("k", session, 5, request) else { return }
        #expect(renewed.code != RemoteError.tooManySubscriptions)
    }
}

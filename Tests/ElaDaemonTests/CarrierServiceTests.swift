import ElaCarrier
import ElaCrypto
@testable import ElaDaemon
import ElaIdentity
import ElaJSON
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
        // A subscribe still before the gate holds a slot too: two at once cannot both take the last one.
        service.state.withLock { s in
            s.sessions["k"]?.subscriptions.removeValue(forKey: 1)?.cancel()
            s.sessions["k"]?.reserved = [40]
        }
        guard case .failure(let racing) = service.subscribe("k", session, 99, request) else { return }
        #expect(racing.code == RemoteError.tooManySubscriptions)
        service.state.withLock { $0.sessions["k"]?.reserved = [] }
        guard case .failure(let judged) = service.subscribe("k", session, 99, request) else { return }
        #expect(judged.code != RemoteError.tooManySubscriptions)
        #expect(service.state.withLock { $0.sessions["k"]?.reserved } == [], "a subscribe the gate refused gives its slot back")
    }

    /// A DApp that drops a stream says so: the device stops its events and the slot is free for another.
    @Test func anUnsubscribeFreesTheSlotAndStopsTheEvents() async throws {
        let dir = TemporaryDirectory(prefix: "ela-carrier-service")
        defer { dir.remove() }
        let store = try AgentStore(path: dir.path + "/agent.db")
        defer { store.close() }
        let did = try DID(ElaAddress.did(for: ElaPrivateKey.generate().publicKey))
        let service = CarrierService(deviceDID: did, store: store, late: LateBinding(), spvVerified: { _ in false }, logger: Logger(label: "test"))
        let bus = EventBus()
        var session = CarrierService.Session(did: did, challenge: "c")
        let dropped = bus.subscribe(patterns: ["sensors.reading"], capacity: 4)
        session.subscriptions[1] = dropped
        session.subscriptions[2] = bus.subscribe(patterns: ["sensors.reading"], capacity: 4)
        service.state.withLock { $0.sessions["k"] = session }
        let text = SessionMessage.unsubscribe(sub: 1).text
        _ = await service.message(["key": "0a", "text": .string(text)])
        // The session is keyed by the sender's key: "0a" is another DApp's, whose unsubscribe touches nothing here.
        #expect(service.state.withLock { $0.sessions["k"]?.subscriptions.count } == 2)
        service.state.withLock { $0.sessions["0a"] = $0.sessions.removeValue(forKey: "k") }
        _ = await service.message(["key": "0a", "text": .string(text)])
        #expect(service.state.withLock { $0.sessions["0a"].map { Array($0.subscriptions.keys) } } == [2])
        #expect(await dropped.next() == nil, "the dropped subscription's queue ended")
        // An id the session does not hold (already dropped, or never made) is ignored.
        _ = await service.message(["key": "0a", "text": .string(SessionMessage.unsubscribe(sub: 1).text)])
        #expect(service.state.withLock { $0.sessions["0a"]?.subscriptions.count } == 1)
    }
}

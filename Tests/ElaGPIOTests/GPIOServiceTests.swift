import ElaGPIO
import Testing

@Suite struct GPIOServiceTests {
    @Test func writeHoldsTheLineAsAnOutputUntilReleased() throws {
        let (service, chip, _) = try SimBoard.service()
        try service.write(pin: "LED0", value: .high)
        #expect(chip.value(line: 0) == .high)
        #expect(try chip.lineInfo(0).consumer == "ela-gpio")
        #expect(try chip.lineInfo(0).direction == .output)
        #expect(try service.read(pin: "LED0") == .high)
        try service.write(pin: "LED0", value: .low)
        #expect(chip.value(line: 0) == .low)
        #expect(try service.read(pin: "LED0") == .low)
        #expect(try service.release(pin: "LED0"))
        #expect(try chip.lineInfo(0).used == false)
        #expect(try service.release(pin: "LED0") == false)
    }

    @Test func readingAFreePinReadsTheInputWithoutHoldingIt() throws {
        let (service, chip, _) = try SimBoard.service()
        #expect(try service.read(pin: "BUTTON0") == .low)
        try service.simulate(pin: "BUTTON0", pull: .up)
        #expect(try service.read(pin: "BUTTON0") == .high)
        #expect(try chip.lineInfo(2).used == false)
        #expect(try chip.lineInfo(2).direction == .input)
        // A pull-up bias on the request pulls the simulated line up, like gpio-sim.
        try service.simulate(pin: "GPIO5", pull: .down)
        #expect(try service.read(pin: "GPIO5", bias: .pullUp) == .high)
    }

    @Test func aWatchedPinCannotBeWrittenReleasedOrWatchedAgain() throws {
        let (service, _, _) = try SimBoard.service()
        let id = try service.watch(pin: "BUTTON0", edge: .both)
        #expect(gpioError { try service.write(pin: "BUTTON0", value: .high) } == GPIOError(.busy, "pin BUTTON0 is held by watch \(id) (input)"))
        #expect(gpioError { _ = try service.watch(pin: "BUTTON0", edge: .rising) }?.message == "pin BUTTON0 is held by watch \(id) (input)")
        let release = gpioError { _ = try service.release(pin: "BUTTON0") }
        #expect(release?.kind == .busy)
        #expect(release?.message.contains("gpio.unwatch") == true)
        #expect(try service.read(pin: "BUTTON0") == .low)
        // A watch is ended on its own pin only: naming another pin is refused, and says nothing of other watches.
        #expect(gpioError { try service.unwatch(id, pin: "BUTTON1") } == GPIOError(.invalidArgument, "pin BUTTON1 has no watch \(id)"))
        try service.unwatch(id, pin: "BUTTON0")
        try service.write(pin: "BUTTON0", value: .high)
        #expect(try service.read(pin: "BUTTON0") == .high)
    }

    @Test func anOutputCannotBeWatched() throws {
        let (service, _, _) = try SimBoard.service()
        try service.write(pin: "RELAY0", value: .high)
        let e = gpioError { _ = try service.watch(pin: "RELAY0", edge: .both) }
        #expect(e == GPIOError(.busy, "pin RELAY0 is held as an output (value 1); gpio.release it first"))
    }

    @Test func watchesReportEdgesWithTimestamps() async throws {
        let (service, _, edges) = try SimBoard.service()
        let before = monotonicNanoseconds()
        let id = try service.watch(pin: "BUTTON1", edge: .both)
        try service.simulate(pin: "BUTTON1", pull: .up)
        try service.simulate(pin: "BUTTON1", pull: .up)  // no change, no edge
        try service.simulate(pin: "BUTTON1", pull: .down)
        let seen = await edges.wait(for: 2)
        let after = monotonicNanoseconds()
        try #require(seen.count == 2)
        #expect(seen.map(\.edge) == [.rising, .falling])
        #expect(seen.map(\.value) == [.high, .low])
        #expect(seen.allSatisfy { $0.pin == "BUTTON1" && $0.watch == id })
        #expect(seen[0].timestampNanoseconds >= before)
        #expect(seen[0].timestampNanoseconds <= seen[1].timestampNanoseconds)
        #expect(seen[1].timestampNanoseconds <= after)
        try service.unwatch(id, pin: "BUTTON1")
        try service.simulate(pin: "BUTTON1", pull: .up)
        try await Task.sleep(for: .milliseconds(50))
        #expect(edges.all.count == 2)
    }

    @Test(arguments: [(GPIOEdge.rising, GPIOEdgeKind.rising), (.falling, .falling)])
    func watchesFilterEdges(_ edge: GPIOEdge, _ expected: GPIOEdgeKind) async throws {
        let (service, _, edges) = try SimBoard.service()
        _ = try service.watch(pin: "GPIO6", edge: edge)
        for pull in [GPIOPull.up, .down, .up, .down] { try service.simulate(pin: "GPIO6", pull: pull) }
        let seen = await edges.wait(for: 2)
        try await Task.sleep(for: .milliseconds(30))
        #expect(edges.all.count == 2)
        #expect(seen.allSatisfy { $0.edge == expected })
    }

    @Test func realtimeStampsComeFromTheRealtimeClock() async throws {
        let (service, _, edges) = try SimBoard.service(clock: .realtime)
        _ = try service.watch(pin: "GPIO7", edge: .rising)
        let before = realtimeNanoseconds()
        try service.simulate(pin: "GPIO7", pull: .up)
        let seen = await edges.wait(for: 1)
        try #require(seen.count == 1)
        #expect(seen[0].timestampNanoseconds >= before)
        #expect(seen[0].timestampNanoseconds <= realtimeNanoseconds())
    }

    @Test func aLineHeldByAnotherProgramIsNeverTakenOver() throws {
        let (service, _, _) = try SimBoard.service()
        let other = try service.backend.request(chip: SimBoard.label, line: 4, consumer: "other-app", mode: .output(initial: .high))
        let write = gpioError { try service.write(pin: "RELAY0", value: .low) }
        #expect(write?.kind == .busy)
        #expect(write?.message == "pin RELAY0: line 4 of chip 'ela-sim-gpio' is busy: held by 'other-app'")
        #expect(gpioError { _ = try service.read(pin: "RELAY0") }?.kind == .busy)
        #expect(gpioError { _ = try service.watch(pin: "RELAY0", edge: .both) }?.kind == .busy)
        let status = try #require(service.info().pins.first { $0.name == "RELAY0" })
        #expect(status.heldBy == "consumer 'other-app'")
        #expect(status.direction == .output)
        service.backend.release(other)
        try service.write(pin: "RELAY0", value: .low)
    }

    @Test func unknownPinsAreNamedWithTheValidOnes() throws {
        let (service, _, _) = try SimBoard.service()
        let e = gpioError { _ = try service.read(pin: "LED9") }
        #expect(e == GPIOError(.invalidArgument, "unknown pin 'LED9'; valid pins: BUTTON0, BUTTON1, GPIO5, GPIO6, GPIO7, LED0, LED1, RELAY0"))
        let many = try GPIOConfiguration(
            backend: .sim, chips: [.init(label: "c", lines: 20)], pins: (0..<13).map { .init(name: "P\($0 + 10)", chip: "c", line: $0) })
        let big = GPIOService(configuration: many, backend: many.makeBackend(), onEdge: { _ in })
        let e2 = gpioError { _ = try big.read(pin: "X") }
        #expect(e2?.message == "unknown pin 'X'; valid pins: P10, P11, P12, P13, P14, P15, P16, P17, P18, P19 (and 3 more)")
        #expect(gpioError { try service.unwatch(42, pin: "BUTTON0") } == GPIOError(.invalidArgument, "pin BUTTON0 has no watch 42"))
        #expect(gpioError { try service.unwatch(42, pin: "LED9") }?.message.hasPrefix("unknown pin 'LED9'") == true)
    }

    @Test func infoListsChipsAndWhoHoldsEachPin() throws {
        let (service, _, _) = try SimBoard.service()
        try service.write(pin: "LED1", value: .high)
        let id = try service.watch(pin: "BUTTON0", edge: .falling)
        try service.simulate(pin: "BUTTON0", pull: .up)
        let info = service.info()
        #expect(info.backend == "sim")
        #expect(info.chips == [GPIOChipInfo(name: "gpiochip-sim", label: "ela-sim-gpio", lineCount: 16)])
        #expect(info.pins.map(\.name) == SimBoard.pins.map(\.0))
        let byName = Dictionary(uniqueKeysWithValues: info.pins.map { ($0.name, $0) })
        #expect(byName["LED1"]?.heldBy == "output")
        #expect(byName["LED1"]?.value == .high)
        #expect(byName["LED1"]?.direction == .output)
        #expect(byName["BUTTON0"]?.heldBy == "watch \(id)")
        #expect(byName["BUTTON0"]?.value == .high)
        #expect(byName["GPIO5"]?.heldBy == nil)
        #expect(byName["GPIO5"]?.value == nil)
        #expect(byName["GPIO5"]?.direction == .input)
    }

    @Test func shutdownReleasesEverythingAndRefusesLaterCalls() throws {
        let (service, chip, _) = try SimBoard.service()
        try service.write(pin: "LED0", value: .high)
        _ = try service.watch(pin: "BUTTON0", edge: .both)
        service.shutdown()
        #expect(try chip.lineInfo(0).used == false)
        #expect(try chip.lineInfo(2).used == false)
        #expect(gpioError { try service.write(pin: "LED0", value: .high) }?.kind == .unsupported)
    }

    @Test func twoPinNamesForOneLineShareItsOwnership() throws {
        let config = try GPIOConfiguration(
            backend: .sim, chips: [.init(label: "c", lines: 4)],
            pins: [.init(name: "GPIO17", chip: "c", line: 1), .init(name: "PIN11", chip: "c", line: 1)])
        let service = GPIOService(configuration: config, backend: config.makeBackend(), onEdge: { _ in })
        try service.write(pin: "GPIO17", value: .high)
        #expect(try service.read(pin: "PIN11") == .high)
        let e = gpioError { _ = try service.watch(pin: "PIN11", edge: .both) }
        #expect(e?.message == "pin PIN11 is held as an output (as GPIO17) (value 1); gpio.release it first")
        #expect(try service.release(pin: "PIN11"))
    }
}

import ElaGPIO
import Testing

@Suite struct SimulatedChipTests {
    let chip = SimulatedGPIOChip(label: "sim", lines: 4)
    var backend: SimulatedGPIOBackend { SimulatedGPIOBackend(chips: [chip]) }

    @Test func aRequestedLineIsBusyForEveryOtherRequest() throws {
        let backend = self.backend
        let first = try backend.request(chip: "sim", line: 1, consumer: "a", mode: .input(bias: .asIs))
        let e = gpioError { _ = try backend.request(chip: "sim", line: 1, consumer: "b", mode: .output(initial: .high)) }
        #expect(e == GPIOError(.busy, "line 1 of chip 'sim' is busy: held by 'a'"))
        backend.release(first)
        let second = try backend.request(chip: "sim", line: 1, consumer: "b", mode: .output(initial: .high))
        #expect(try backend.read(second) == .high)
        #expect(try chip.lineInfo(1) == GPIOLineInfo(offset: 1, consumer: "b", direction: .output, used: true))
    }

    @Test func inputsReadThePullAndOutputsKeepTheirValue() throws {
        let backend = self.backend
        let input = try backend.request(chip: "sim", line: 0, consumer: "t", mode: .input(bias: .asIs))
        #expect(try backend.read(input) == .low)
        try chip.setPull(line: 0, .up)
        #expect(try backend.read(input) == .high)
        #expect(gpioError { try backend.write(input, .low) }?.kind == .invalidArgument)
        let output = try backend.request(chip: "sim", line: 2, consumer: "t", mode: .output(initial: .low))
        try chip.setPull(line: 2, .up)
        #expect(try backend.read(output) == .low)
        try backend.write(output, .high)
        #expect(chip.value(line: 2) == .high)
    }

    @Test func eventsWaitOnTheDescriptorAndTimeOut() throws {
        let backend = self.backend
        let h = try backend.request(chip: "sim", line: 3, consumer: "t", mode: .events(edge: .both, bias: .asIs))
        #expect(try backend.waitForEvents(h, timeoutNanoseconds: 20_000_000).isEmpty)
        try chip.setPull(line: 3, .up)
        try chip.setPull(line: 3, .down)
        let events = try backend.waitForEvents(h, timeoutNanoseconds: 1_000_000_000)
        #expect(events.map(\.edge) == [.rising, .falling])
        #expect(try backend.readEvents(h).isEmpty)
        #expect(gpioError { _ = try backend.eventDescriptor(GPIOLineHandle(id: 999)) }?.kind == .notFound)
    }

    @Test func theEventQueueIsBoundedLikeTheKernels() throws {
        let backend = self.backend
        let h = try backend.request(chip: "sim", line: 3, consumer: "t", mode: .events(edge: .both, bias: .asIs))
        for i in 0..<600 { try chip.setPull(line: 3, i % 2 == 0 ? .up : .down) }
        let events = try backend.readEvents(h)
        #expect(events.count == 256)
        // The oldest went first: 600 edges alternate from rising, so the newest 256 start with a rising one.
        #expect(events.first?.edge == .rising)
        #expect(events.last?.edge == .falling)
    }

    @Test func missingChipsAndLinesAreTypedErrors() {
        let backend = self.backend
        #expect(gpioError { _ = try backend.request(chip: "nope", line: 0, consumer: "t", mode: .input(bias: .asIs)) }
            == GPIOError(.notFound, "no GPIO chip labelled 'nope' (simulated chips: 'sim')"))
        #expect(gpioError { _ = try backend.request(chip: "sim", line: 4, consumer: "t", mode: .input(bias: .asIs)) }
            == GPIOError(.notFound, "chip 'sim' has lines 0...3; there is no line 4"))
        #expect(gpioError { try chip.setPull(line: -1, .up) }?.kind == .notFound)
        #expect(chip.value(line: 9) == nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ElaGPIO
import ElaGPIOD
import ElaTestSupport
import Testing

/// libgpiod as far as this machine allows: without /dev/gpiochip* the chip list is empty and every open is a
/// typed "not found"; with chips, the list matches the device nodes.
@Suite struct LibgpiodBackendTests {
    @Test func theLinkedLibraryIsVersionOne() {
        #expect(GPIODChip.libraryVersion.hasPrefix("1."))
        #expect(LibgpiodBackend.libraryVersion == GPIODChip.libraryVersion)
    }

    @Test func chipsMatchTheDeviceNodes() {
        let nodes = GPIODChip.devicePaths()
        let chips = LibgpiodBackend().chips()
        #expect(chips.count == nodes.count)
        #expect(chips.map(\.name) == nodes.map { String($0.split(separator: "/").last ?? "") })
    }

    @Test func devicePathsAreGPIOChipNodesInNumberOrder() {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for name in ["gpiochip10", "gpiochip2", "gpiochip0", "gpiochipX", "ttyS0", "gpiochip"] { _ = dir.write(name, "") }
        #expect(GPIODChip.devicePaths(in: dir.path) == ["gpiochip0", "gpiochip2", "gpiochip10"].map { dir.path + "/" + $0 })
        #expect(LibgpiodBackend(deviceDirectory: dir.path + "/missing").chips().isEmpty)
    }

    @Test func aMissingLabelIsATypedNotFound() throws {
        let error = try #require(throws: GPIODError.self) { try GPIODChip.open(label: "ela-no-such-chip") }
        #expect(error.isNotFound)
        #expect(error.chip == "ela-no-such-chip")
        #expect(error.operation == "open chip")
        #expect(error.description.hasPrefix("open chip 'ela-no-such-chip': "))
    }

    @Test func missingPathsAndNamesAreTypedErrors() throws {
        let byPath = try #require(throws: GPIODError.self) { try GPIODChip.open(path: "/nonexistent/gpiochip9") }
        #expect(byPath.errno == ENOENT)
        #expect(byPath.description == "open chip '/nonexistent/gpiochip9': No such file or directory (errno \(ENOENT))")
        let byName = try #require(throws: GPIODError.self) { try GPIODChip.open(name: "gpiochip999") }
        #expect(byName.isNotFound)
        // A device that is not a GPIO chip is refused, not mistaken for one.
        let notAChip = try #require(throws: GPIODError.self) { try GPIODChip.open(path: "/dev/null") }
        #expect(notAChip.errno != 0)
        #expect(!notAChip.isBusy)
    }

    @Test func theBackendReportsMissingChipsByLabel() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let backend = LibgpiodBackend(deviceDirectory: dir.path)
        let e = gpioError { _ = try backend.request(chip: "pinctrl-bcm2711", line: 17, consumer: "t", mode: .input(bias: .asIs)) }
        #expect(e == GPIOError(.notFound, "no GPIO chip labelled 'pinctrl-bcm2711' (there are no GPIO chips in \(dir.path))"))
        let byName = gpioError { _ = try backend.lineInfo(chip: "gpiochip3", line: 0) }
        #expect(byName?.kind == .notFound)
        #expect(byName?.message.contains("gpiochip3") == true)
        #expect(gpioError { try backend.simulatePull(chip: "x", line: 0, pull: .up) }?.kind == .unsupported)
        #expect(gpioError { _ = try backend.read(GPIOLineHandle(id: 1)) }?.kind == .notFound)
    }

    /// Seen in the qemu gpio-sim guest: chips the plugin could not open were reported as "there are no GPIO chips".
    @Test func aChipThatCannotBeOpenedIsNamedWithTheReason() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        _ = dir.write("gpiochip0", "")  // not a character device: libgpiod refuses it
        let backend = LibgpiodBackend(deviceDirectory: dir.path)
        let e = gpioError { _ = try backend.request(chip: "pinctrl-bcm2711", line: 17, consumer: "t", mode: .input(bias: .asIs)) }
        #expect(e?.kind == .notFound)
        #expect(e?.message.hasPrefix("no GPIO chip labelled 'pinctrl-bcm2711' (present: gpiochip0 (cannot open: ") == true, "\(String(describing: e))")
    }

    @Test func chipsWithAParentAreFoundThroughSysfs() throws {
        // A fake /dev and /sys/bus/gpio/devices: gpiochip1 belongs to 4804c000.gpio.
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        for d in ["dev", "sys", "devices", "devices/44e07000.gpio", "devices/4804c000.gpio"] { mkdir(dir.path + "/" + d, 0o755) }
        for n in [0, 1] { _ = dir.write("dev/gpiochip\(n)", "") }
        mkdir(dir.path + "/devices/44e07000.gpio/gpiochip0", 0o755)
        mkdir(dir.path + "/devices/4804c000.gpio/gpiochip1", 0o755)
        symlink(dir.path + "/devices/44e07000.gpio/gpiochip0", dir.path + "/sys/gpiochip0")
        symlink(dir.path + "/devices/4804c000.gpio/gpiochip1", dir.path + "/sys/gpiochip1")
        let backend = LibgpiodBackend(
            parents: ["gpio-32-63": "4804c000.gpio", "gpio-96-127": "481ae000.gpio"], deviceDirectory: dir.path + "/dev",
            sysfsDirectory: dir.path + "/sys")
        #expect(backend.devicePath(parent: "4804c000.gpio") == dir.path + "/dev/gpiochip1")
        #expect(backend.devicePath(parent: "44e07000.gpio") == dir.path + "/dev/gpiochip0")
        #expect(backend.devicePath(parent: "481ae000.gpio") == nil)
        // The node found is a plain file here, so libgpiod refuses it: the error names the node it resolved to.
        let e = gpioError { _ = try backend.request(chip: "gpio-32-63", line: 1, consumer: "t", mode: .input(bias: .asIs)) }
        #expect(e?.message.contains(dir.path + "/dev/gpiochip1") == true)
        let missing = gpioError { _ = try backend.lineInfo(chip: "gpio-96-127", line: 0) }
        #expect(missing == GPIOError(.notFound, "no GPIO chip belongs to device '481ae000.gpio' (chip 'gpio-96-127'; looked in \(dir.path)/sys)"))
    }

    @Test func theServiceOverMissingHardwareSaysWhatIsMissing() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let config = try GPIOConfiguration(backend: .gpiod, pins: [.init(name: "GPIO17", chip: "pinctrl-bcm2711", line: 17)])
        let service = GPIOService(configuration: config, backend: LibgpiodBackend(deviceDirectory: dir.path), onEdge: { _ in })
        let info = service.info()
        #expect(info.backend == "gpiod")
        #expect(info.chips.isEmpty)
        #expect(info.pins.first?.problem == "no GPIO chip labelled 'pinctrl-bcm2711' (there are no GPIO chips in \(dir.path))")
        #expect(gpioError { _ = try service.read(pin: "GPIO17") }?.message == "pin GPIO17: no GPIO chip labelled 'pinctrl-bcm2711' (there are no GPIO chips in \(dir.path))")
        #expect(gpioError { try service.write(pin: "GPIO17", value: .high) }?.kind == .notFound)
        #expect(gpioError { _ = try service.watch(pin: "GPIO17", edge: .both) }?.kind == .notFound)
        let simulate = gpioError { try service.simulate(pin: "GPIO17", pull: .up) }
        #expect(simulate?.kind == .unsupported)
        #expect(simulate?.message == "pin GPIO17: pulls can only be simulated on the sim backend; this is gpiod")
    }
}

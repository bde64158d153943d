import ElaSensors
import Testing

/// Reads one discovered sensor by id from a fake tree.
func readSensor(_ tree: FakeSysfs, _ id: String) throws -> SensorReading {
    let found = SensorDiscovery.discover(root: tree.root).sensors
    guard let sensor = found.first(where: { $0.id == id }) else {
        throw SensorError.unknownSensor(id: id, known: found.map(\.id))
    }
    return try SensorReader.read(sensor, timestampMs: 7)
}

func ids(_ tree: FakeSysfs) -> [String] { SensorDiscovery.discover(root: tree.root).sensors.map(\.id) }

@Suite struct IIOTests {
    @Test func processedChannelsConvertFromABIUnits() throws {
        let t = FakeSysfs()
        let d = "bus/iio/devices/iio:device0/"
        t.write(d + "name", "bme280\n")
        t.write(d + "in_temp_input", "23450\n")  // millidegrees C
        t.write(d + "in_pressure_input", "100.853125000\n")  // kPa
        t.write(d + "in_humidityrelative_input", "45123\n")  // milli-percent
        t.write(d + "in_illuminance_input", "312.5\n")  // lux
        t.write(d + "in_voltage0_input", "1650\n")  // mV
        t.write(d + "in_current0_input", "250\n")  // mA
        t.write(d + "in_power0_input", "1500\n")  // mW
        t.write(d + "in_temp_oversampling_ratio", "2\n")
        t.write(d + "uevent", "OF_NAME=bme280\n")

        #expect(
            ids(t) == [
                "iio/bme280/current0", "iio/bme280/humidityrelative", "iio/bme280/illuminance", "iio/bme280/power0",
                "iio/bme280/pressure", "iio/bme280/temp", "iio/bme280/voltage0",
            ])
        let temp = try readSensor(t, "iio/bme280/temp")
        #expect(temp == SensorReading(sensor: "iio/bme280/temp", kind: .temperature, value: 23.45, unit: "celsius", timestampMs: 7))
        #expect(try readSensor(t, "iio/bme280/pressure").value == 100_853.125)
        #expect(try readSensor(t, "iio/bme280/pressure").unit == "pascal")
        #expect(try readSensor(t, "iio/bme280/humidityrelative").value == 45.123)
        #expect(try readSensor(t, "iio/bme280/humidityrelative").unit == "percent")
        #expect(try readSensor(t, "iio/bme280/illuminance").value == 312.5)
        #expect(try readSensor(t, "iio/bme280/voltage0").value == 1.65)
        #expect(try readSensor(t, "iio/bme280/current0").value == 0.25)
        #expect(try readSensor(t, "iio/bme280/power0").value == 1.5)
    }

    @Test func rawScaleAndOffsetMath() throws {
        let t = FakeSysfs()
        let d = "bus/iio/devices/iio:device0/"
        t.write(d + "name", "ads1015\n")
        // value = (raw + offset) * scale: (2650 - 500) * 10 = 21500 mC.
        t.write(d + "in_temp_raw", "2650\n")
        t.write(d + "in_temp_offset", "-500\n")
        t.write(d + "in_temp_scale", "10.000000000\n")
        // Shared per-type scale for voltage0, a channel's own scale for voltage1.
        t.write(d + "in_voltage0_raw", "2048\n")
        t.write(d + "in_voltage1_raw", "1000\n")
        t.write(d + "in_voltage_scale", "0.805664062\n")
        t.write(d + "in_voltage1_scale", "2\n")
        t.write(d + "in_voltage1_offset", "0.5\n")
        // No scale at all: scale 1.
        t.write(d + "in_illuminance_raw", "42\n")
        // A modifier channel takes the shared type scale.
        t.write(d + "in_temp_ambient_raw", "-120\n")
        // A differential pair.
        t.write(d + "in_voltage0-voltage1_raw", "-100\n")

        #expect(try readSensor(t, "iio/ads1015/temp").value == 21.5)
        #expect(abs(try readSensor(t, "iio/ads1015/voltage0").value - 2048 * 0.805664062 / 1000) < 1e-6)
        #expect(try readSensor(t, "iio/ads1015/voltage1").value == 2.001)  // (1000 + 0.5) * 2 mV
        #expect(try readSensor(t, "iio/ads1015/illuminance").value == 42)
        #expect(try readSensor(t, "iio/ads1015/temp_ambient").value == -6.2)  // (-120 - 500) * 10 mC
        #expect(abs(try readSensor(t, "iio/ads1015/voltage0-voltage1").value - -100 * 0.805664062 / 1000) < 1e-6)
    }

    @Test func scaleIsReadAgainOnEveryReading() throws {
        let t = FakeSysfs()
        let d = "bus/iio/devices/iio:device0/"
        t.write(d + "in_voltage0_raw", "1000\n")
        t.write(d + "in_voltage0_scale", "1\n")
        let sensor = try #require(SensorDiscovery.discover(root: t.root).sensors.first)
        #expect(try SensorReader.read(sensor, timestampMs: 0).value == 1)
        t.write(d + "in_voltage0_scale", "0.5\n")  // the driver changed gain
        #expect(try SensorReader.read(sensor, timestampMs: 0).value == 0.5)
    }

    @Test func inputWinsOverRawAndUnknownTypesAreSkipped() throws {
        let t = FakeSysfs()
        let d = "bus/iio/devices/iio:device0/"
        t.write(d + "name", "mix\n")
        t.write(d + "in_temp_input", "20000\n")
        t.write(d + "in_temp_raw", "1\n")
        t.write(d + "in_accel_x_raw", "12\n")
        t.write(d + "in_intensity_both_raw", "3\n")
        t.write(d + "in_tempx_raw", "3\n")
        t.write(d + "out_voltage0_raw", "3\n")
        let sensors = SensorDiscovery.discover(root: t.root).sensors
        #expect(sensors.map(\.id) == ["iio/mix/temp"])
        #expect(sensors.first?.path.hasSuffix("in_temp_input") == true)
        #expect(try readSensor(t, "iio/mix/temp").value == 20)
    }

    @Test func deviceNamesAreSanitizedAndMadeUnique() {
        let t = FakeSysfs()
        t.write("bus/iio/devices/iio:device0/name", "bme280\n")
        t.write("bus/iio/devices/iio:device0/in_temp_input", "1\n")
        t.write("bus/iio/devices/iio:device1/name", "bme280\n")
        t.write("bus/iio/devices/iio:device1/in_temp_input", "1\n")
        t.write("bus/iio/devices/iio:device2/in_temp_input", "1\n")  // no name file
        t.write("bus/iio/devices/iio:device3/name", "we/ird name\u{7}\n")
        t.write("bus/iio/devices/iio:device3/in_temp_input", "1\n")
        t.write("bus/iio/devices/trigger0/name", "t\n")
        #expect(ids(t) == ["iio/bme280-2/temp", "iio/bme280/temp", "iio/iio_device2/temp", "iio/we_ird_name_/temp"])
    }
}

@Suite struct HwmonTests {
    @Test func channelsOfEveryTypeWithLabels() throws {
        let t = FakeSysfs()
        // As in /sys: the class entry is a symlink to the device directory.
        let dev = "devices/platform/soc/ina219/hwmon/hwmon3/"
        t.write(dev + "name", "ina219\n")
        t.write(dev + "in0_input", "1200\n")
        t.write(dev + "in0_label", "VBUS\n")
        t.write(dev + "curr1_input", "500\n")
        t.write(dev + "power1_input", "2500000\n")
        t.write(dev + "temp1_input", "-4500\n")
        t.write(dev + "temp1_max", "85000\n")
        t.write(dev + "temp1_crit_alarm", "0\n")
        t.write(dev + "fan1_input", "1200\n")
        t.write(dev + "humidity1_input", "45500\n")
        t.write(dev + "uevent", "\n")
        t.symlink("../../" + dev.dropLast(), at: "class/hwmon/hwmon3")

        let sensors = SensorDiscovery.discover(root: t.root).sensors
        #expect(
            sensors.map(\.id) == [
                "hwmon/ina219/curr1", "hwmon/ina219/fan1", "hwmon/ina219/humidity1", "hwmon/ina219/in0", "hwmon/ina219/power1",
                "hwmon/ina219/temp1",
            ])
        #expect(sensors.first { $0.id == "hwmon/ina219/in0" }?.label == "VBUS")
        #expect(try readSensor(t, "hwmon/ina219/in0") == SensorReading(sensor: "hwmon/ina219/in0", kind: .voltage, value: 1.2, unit: "volt", timestampMs: 7))
        #expect(try readSensor(t, "hwmon/ina219/curr1").value == 0.5)
        #expect(try readSensor(t, "hwmon/ina219/power1").value == 2.5)
        #expect(try readSensor(t, "hwmon/ina219/power1").unit == "watt")
        #expect(try readSensor(t, "hwmon/ina219/temp1").value == -4.5)
        #expect(try readSensor(t, "hwmon/ina219/fan1").value == 1200)
        #expect(try readSensor(t, "hwmon/ina219/fan1").unit == "rpm")
        #expect(try readSensor(t, "hwmon/ina219/humidity1").value == 45.5)
    }

    @Test func oldDriversKeepFilesInDevice() throws {
        let t = FakeSysfs()
        t.write("class/hwmon/hwmon0/name", "lm75\n")
        t.write("class/hwmon/hwmon0/device/temp1_input", "31500\n")
        #expect(try readSensor(t, "hwmon/lm75/temp1").value == 31.5)
    }

    @Test func duplicateNamesInNumericOrder() {
        let t = FakeSysfs()
        for n in [10, 2] {
            t.write("class/hwmon/hwmon\(n)/name", "nvme\n")
            t.write("class/hwmon/hwmon\(n)/temp1_input", "\(n)000\n")
        }
        let sensors = SensorDiscovery.discover(root: t.root).sensors
        #expect(sensors.map(\.id) == ["hwmon/nvme-2/temp1", "hwmon/nvme/temp1"])
        #expect(sensors.last?.path.contains("hwmon2/") == true)
    }
}

@Suite struct OneWireDiscoveryTests {
    @Test func findsThermometersOnly() throws {
        let t = FakeSysfs()
        t.write("bus/w1/devices/28-0316a2799aff/w1_slave", W1ThermTests.good)
        t.write("bus/w1/devices/10-000802b4ca1e/w1_slave", W1ThermTests.good)
        t.write("bus/w1/devices/w1_bus_master1/w1_master_slaves", "28-0316a2799aff\n")
        t.write("bus/w1/devices/01-000012345678/id", "x")  // a DS2401 serial number chip
        t.write("bus/w1/devices/28-XYZ/w1_slave", W1ThermTests.good)
        t.mkdirs("bus/w1/devices/28-0000000000aa")  // no w1_slave (yet)
        #expect(ids(t) == ["w1/10-000802b4ca1e", "w1/28-0316a2799aff"])
        #expect(try readSensor(t, "w1/28-0316a2799aff") == SensorReading(sensor: "w1/28-0316a2799aff", kind: .temperature, value: 23.125, unit: "celsius", timestampMs: 7))
    }

    @Test func missingBusesMeanNoSensors() {
        let t = FakeSysfs()
        let result = SensorDiscovery.discover(root: t.root + "/nonexistent")
        #expect(result.sensors.isEmpty && result.problems.isEmpty)
    }
}

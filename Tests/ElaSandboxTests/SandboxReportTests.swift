import ElaSandbox
import ElaTestSupport
import Testing

@Suite(.ownThread) struct SandboxReportTests {
    static let sample = """
        {"layer":"cgroup","state":"active","detail":"v1: memory yes, pids yes; memory 32 MB, pids 16"}
        {"layer":"pid_ns","state":"active","detail":"plugin is pid 2"}
        {"layer":"net_ns","state":"off","detail":"network granted"}
        {"layer":"landlock","state":"unavailable","detail":"Landlock disabled at boot (lsm=)"}

        {"exec":"/opt/plugins/gpio/ela-plugin-gpio"}

        """

    @Test func parsesLayersAndExec() throws {
        let report = try SandboxReport(lines: Self.sample)
        #expect(report.layers.map(\.name) == ["cgroup", "pid_ns", "net_ns", "landlock"])
        #expect(report.layers[2] == SandboxLayer(name: "net_ns", state: .off, detail: "network granted"))
        #expect(report.execPath == "/opt/plugins/gpio/ela-plugin-gpio")
        #expect(report.error == nil)
        #expect(report.layer("landlock")?.state == .unavailable)
        #expect(report.warnings.map(\.name) == ["landlock"])
    }

    @Test func errorLineAndFailedLayer() throws {
        let text = """
            {"layer":"seccomp","state":"failed","detail":"libseccomp: Invalid argument"}
            {"error":"seccomp: libseccomp: Invalid argument"}
            """
        let report = try SandboxReport(lines: text)
        #expect(report.error == "seccomp: libseccomp: Invalid argument")
        #expect(report.execPath == nil)
        #expect(report.warnings == [SandboxLayer(name: "seccomp", state: .failed, detail: "libseccomp: Invalid argument")])
    }

    @Test func summaryAllActive() throws {
        let text = SandboxReport.layerNames.map { #"{"layer":"\#($0)","state":"active","detail":"ok"}"# }
            .joined(separator: "\n")
        let report = try SandboxReport(lines: text)
        #expect(report.summary == "13/13 active")
        #expect(report.warnings.isEmpty)
        #expect(report.missingLayers.isEmpty)
    }

    @Test func summaryNamesWhatIsNotActive() throws {
        let states: [String: String] = ["landlock": "unavailable", "cgroup": "unavailable", "net_ns": "off"]
        let text = SandboxReport.layerNames.map { #"{"layer":"\#($0)","state":"\#(states[$0] ?? "active")"}"# }
            .joined(separator: "\n")
        let report = try SandboxReport(lines: text)
        #expect(report.summary == "10 active, 1 off (net_ns), 2 unavailable (cgroup, landlock)")
        #expect(report.layer("cgroup")?.detail == "")
    }

    @Test func aPartlyAppliedLayerIsAWarning() throws {
        // A Raspberry Pi kernel booted without the memory controller: pids only.
        let states: [String: String] = ["cgroup": "partial"]
        let text = SandboxReport.layerNames.map { #"{"layer":"\#($0)","state":"\#(states[$0] ?? "active")"}"# }
            .joined(separator: "\n")
        let report = try SandboxReport(lines: text)
        #expect(report.summary == "12 active, 1 partial (cgroup)")
        #expect(report.warnings.map(\.name) == ["cgroup"])
    }

    @Test func summaryCountsLayersNeverReported() throws {
        let report = try SandboxReport(lines: #"{"layer":"cgroup","state":"active","detail":""}"#)
        #expect(report.missingLayers.count == 12)
        #expect(report.summary.hasPrefix("1 active, 12 not reported (pid_ns, mount_ns"))
    }

    @Test(arguments: [
        "not json",
        "[1,2]",
        "{}",
        #"{"layer":"cgroup"}"#,
        #"{"layer":"cgroup","state":"sideways","detail":"x"}"#,
        #"{"layer":7,"state":"active"}"#,
        #"{"layer":"","state":"active"}"#,
        #"{"layer":"cgroup","state":"active","detail":3}"#,
        #"{"exec":5}"#,
        #"{"error":null}"#,
        #"{"layer":"cgroup","state":"active"} trailing"#,
    ])
    func rejectsMalformedLines(_ line: String) {
        let text = #"{"layer":"pid_ns","state":"active","detail":"ok"}"# + "\n" + line + "\n"
        #expect {
            try SandboxReport(lines: text)
        } throws: { error in
            guard let error = error as? SandboxReportError else { return false }
            return error.line == 2 && error.text == line && error.description.contains("line 2")
        }
    }
}

@Suite(.ownThread) struct SandboxPolicyTests {
    @Test func launcherArgumentsCarryEveryField() {
        let policy = SandboxPolicy(
            name: "gpio", uid: 61003, gid: 61003, stateDirectory: "/var/lib/ela-agent/plugins/gpio",
            readOnlyPaths: ["/usr/lib/ela-agent/plugins/gpio", "/usr/lib/swift/linux"], readWritePaths: ["/run/gpio"],
            devices: ["/dev/gpiochip*"], network: true, memoryMB: 48, pids: 20, nofile: 128, cgroupParent: "ela-agent",
            environment: ["ELA_PLUGIN": "gpio", "A": "1"])
        let argv = policy.launcherArguments(
            launcher: "/usr/libexec/ela-sandbox", reportFD: 5, executable: "/usr/lib/ela-agent/plugins/gpio/ela-plugin-gpio",
            arguments: ["--verbose"])
        #expect(
            argv == [
                "/usr/libexec/ela-sandbox", "--name", "gpio", "--uid", "61003", "--gid", "61003",
                "--state-dir", "/var/lib/ela-agent/plugins/gpio",
                "--ro", "/usr/lib/ela-agent/plugins/gpio", "--ro", "/usr/lib/swift/linux", "--rw", "/run/gpio",
                "--device", "/dev/gpiochip*", "--network", "--memory-mb", "48", "--pids", "20", "--nofile", "128",
                "--cgroup-parent", "ela-agent", "--report-fd", "5", "--env", "A=1", "--env", "ELA_PLUGIN=gpio",
                "--", "/usr/lib/ela-agent/plugins/gpio/ela-plugin-gpio", "--verbose",
            ])
    }

    @Test func minimalPolicyUsesDefaults() {
        let argv = SandboxPolicy(name: "p", uid: 61000, gid: 61000)
            .launcherArguments(launcher: "ela-sandbox", reportFD: nil, executable: "/bin/true", arguments: [])
        #expect(
            argv == [
                "ela-sandbox", "--name", "p", "--uid", "61000", "--gid", "61000", "--memory-mb", "128", "--pids", "64",
                "--nofile", "256", "--cgroup-parent", "ela-agent", "--", "/bin/true",
            ])
    }

    @Test func validateAcceptsAGoodPolicy() throws {
        try SandboxPolicy(name: "sensors-1.2_x", uid: 61001, gid: 61001, cgroupParent: "system.slice/ela/plugins")
            .validate()
    }

    @Test func validateRejectsWhatTheLauncherWould() {
        func error(_ policy: SandboxPolicy) -> SandboxPolicyError? {
            do { try policy.validate() } catch { return error }
            return nil
        }
        #expect(error(SandboxPolicy(name: "../x", uid: 61000, gid: 61000)) == .invalidName("../x"))
        #expect(error(SandboxPolicy(name: "", uid: 61000, gid: 61000)) == .invalidName(""))
        #expect(error(SandboxPolicy(name: "p", uid: 0, gid: 61000)) == .rootIdentity)
        #expect(error(SandboxPolicy(name: "p", uid: 61000, gid: 0)) == .rootIdentity)
        #expect(error(SandboxPolicy(name: "p", uid: UInt32.max, gid: 61000)) == .invalidIdentity)
        #expect(error(SandboxPolicy(name: "p", uid: 61000, gid: 61000, readOnlyPaths: ["lib"])) == .relativePath("lib"))
        #expect(error(SandboxPolicy(name: "p", uid: 61000, gid: 61000, cgroupParent: "a/../b")) == .invalidCgroupParent("a/../b"))
        #expect(error(SandboxPolicy(name: "p", uid: 61000, gid: 61000, environment: ["A=B": "c"])) == .invalidEnvironmentKey("A=B"))
        #expect(error(SandboxPolicy(name: "p", uid: 61000, gid: 61000, nofile: 3)) == .invalidLimit)
        #expect(SandboxPolicyError.rootIdentity.description.contains("PluginUserIDs"))
    }

    @Test func pluginUserIDsAreAStableRange() {
        #expect(PluginUserIDs.uid(forIndex: 0) == 61000)
        #expect(PluginUserIDs.uid(forIndex: 183) == 61183)
        #expect(PluginUserIDs.uid(forIndex: 184) == nil)
        #expect(PluginUserIDs.uid(forIndex: -1) == nil)
        #expect(PluginUserIDs.gid(forIndex: 7) == PluginUserIDs.uid(forIndex: 7))
        #expect(PluginUserIDs.index(forUID: 61042) == 42)
        #expect(PluginUserIDs.index(forUID: 61184) == nil)
        #expect(PluginUserIDs.index(forUID: 0) == nil)
    }
}

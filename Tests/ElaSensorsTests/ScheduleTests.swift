import ElaSensors
import Testing

@Suite struct GlobTests {
    @Test(arguments: [
        ("hwmon/*", "hwmon/cpu_thermal/temp1", true), ("hwmon/*", "iio/bme280/temp", false), ("*", "", true),
        ("iio/*/temp", "iio/bme280/temp", true), ("iio/*/temp", "iio/bme280/temp_ambient", false),
        ("w1/28-????????????", "w1/28-0316a2799aff", true), ("w1/28-????????????", "w1/28-0316a2799af", false),
        ("*temp*", "hwmon/x/temp1", true), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYbZ", false), ("", "", true), ("", "a", false),
        ("***", "abc", true), ("a?c", "abc", true), ("a?c", "ac", false),
    ])
    func matches(_ pattern: String, _ text: String, _ expected: Bool) {
        #expect(Glob.matches(pattern, text) == expected)
    }
}

@Suite struct PollingPolicyTests {
    @Test func exactIdThenFirstGlobThenDefault() {
        let policy = PollingPolicy(
            defaultIntervalMs: 1000,
            rules: [
                PollingRule(match: "hwmon/*", intervalMs: 5000), PollingRule(match: "hwmon/cpu*", intervalMs: 200),
                PollingRule(match: "hwmon/cpu_thermal/temp1", intervalMs: 100),
            ])
        #expect(policy.intervalMs(for: "hwmon/cpu_thermal/temp1") == 100)
        #expect(policy.intervalMs(for: "hwmon/cpu_thermal/temp2") == 5000)  // first glob in order wins
        #expect(policy.intervalMs(for: "iio/bme280/temp") == 1000)
    }
}

@Suite struct PollSchedulerTests {
    let policy = PollingPolicy(defaultIntervalMs: 1000, rules: [PollingRule(match: "fast/*", intervalMs: 250)])

    @Test func dueTimesFollowEachInterval() {
        var s = PollScheduler(sensorIds: ["fast/a", "slow/b"], policy: policy, startMs: 10_000)
        #expect(s.earliestDueMs == 10_000)
        #expect(s.takeDue(nowMs: 9_999) == [])
        #expect(s.takeDue(nowMs: 10_000) == ["fast/a", "slow/b"])
        #expect(s.takeDue(nowMs: 10_000) == [])
        #expect(s.earliestDueMs == 10_250)
        var log: [Int64: [String]] = [:]
        for now in stride(from: Int64(10_050), through: 11_000, by: 50) {
            let due = s.takeDue(nowMs: now)
            if !due.isEmpty { log[now] = due }
        }
        #expect(log == [10_250: ["fast/a"], 10_500: ["fast/a"], 10_750: ["fast/a"], 11_000: ["fast/a", "slow/b"]])
    }

    @Test func lateTicksDoNotDrift() {
        var s = PollScheduler(sensorIds: ["slow/b"], policy: policy, startMs: 0)
        _ = s.takeDue(nowMs: 0)
        #expect(s.takeDue(nowMs: 1_030) == ["slow/b"])  // 30 ms late
        #expect(s.nextDue["slow/b"] == 2_000)  // still on the 1 s grid
    }

    @Test func aStallDoesNotCauseABurst() {
        var s = PollScheduler(sensorIds: ["fast/a"], policy: policy, startMs: 0)
        _ = s.takeDue(nowMs: 0)
        #expect(s.takeDue(nowMs: 5_000) == ["fast/a"])  // 20 periods missed: one reading, not 20
        #expect(s.takeDue(nowMs: 5_100) == [])
        #expect(s.nextDue["fast/a"] == 5_250)
    }

    @Test func rediscoveryAddsAndDropsSensors() {
        var s = PollScheduler(sensorIds: ["slow/b", "slow/c"], policy: policy, startMs: 0)
        _ = s.takeDue(nowMs: 0)
        s.update(sensorIds: ["slow/b", "slow/new"], nowMs: 400)
        #expect(s.nextDue == ["slow/b": 1_000, "slow/new": 400])
        #expect(s.takeDue(nowMs: 400) == ["slow/new"])
    }

    @Test func noSensorsNothingDue() {
        var s = PollScheduler(sensorIds: [], policy: policy, startMs: 0)
        #expect(s.earliestDueMs == nil)
        #expect(s.takeDue(nowMs: 1_000_000) == [])
    }
}

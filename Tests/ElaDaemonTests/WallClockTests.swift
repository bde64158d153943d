@testable import ElaDaemon
import Testing

/// A board without a real-time clock reads 1970 until NTP sets it: `elactl status` and the start-up log say so,
/// since remote callers' signed requests are refused as signed in the future until then.
@Suite struct WallClockTests {
    @Test func aClockBefore2025IsReportedAsNotSet() {
        #expect(wallClockProblem(nowSeconds: 1_764_000_000) == nil)
        #expect(wallClockProblem(nowSeconds: 1_735_689_600) == nil)
        let problem = wallClockProblem(nowSeconds: 125)
        #expect(problem?.hasPrefix("NOT SET: it reads 1970-01-01T00:02:05Z;") == true, "\(problem ?? "nil")")
    }
}

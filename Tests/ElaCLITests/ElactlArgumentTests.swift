#if canImport(Glibc)
import Glibc
#endif
import ElaTestSupport
import Testing

/// Arguments as a user types them: relative folders, and values the commands must refuse before doing anything.
@Suite(.ownThread) struct ElactlArgumentTests {
    let elactl = ChildProcess.product("elactl")

    /// `elactl identity create --dir dapp` (the README's pairing step) makes the folder where the user is, not under
    /// "/" (a relative path's first part once became /dapp).
    @Test func aRelativeIdentityFolderIsMadeInTheWorkingDirectory() throws {
        let dir = TemporaryDirectory(prefix: "ela-relative")
        defer { dir.remove() }
        let r = try ChildProcess.run("/bin/sh", ["-c", "cd '\(dir.path)' && '\(elactl)' identity create --dir dapp/one"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(access(dir.path + "/dapp/one/document.json", F_OK) == 0)
        #expect(access("/dapp/one", F_OK) != 0)
    }

    /// A value checked while the command runs (here the JSON params) is reported with that command's usage.
    @Test func aBadValueShowsTheCommandsOwnUsage() throws {
        let r = try ChildProcess.run(elactl, ["call", "gpio.read", "{bad", "--socket", "/nonexistent.sock"])
        #expect(r.status == 64, "\(r.stderr)")
        #expect(r.stderr.contains("params are not valid JSON") && r.stderr.contains("Usage: elactl call "), "\(r.stderr)")
    }

    /// A negative count is the value of its option, refused as such (it read as a missing value, "-1" taken for a flag).
    @Test func negativeNumbersAreRefusedAsValues() throws {
        for args in [["events", "--count", "-1"], ["audit", "list", "--limit", "-3"], ["identity", "issue-access", "--dir", "x", "--to", "y", "--capability", "c", "--days", "-1"]] {
            let r = try ChildProcess.run(elactl, args)
            #expect(r.status == 64 && !r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        }
    }

    @Test func remoteRefusesATimeoutThatIsNotASpanOfSeconds() throws {
        for timeout in ["nan", "0", "-5", "1e20"] {
            let r = try ChildProcess.run(elactl, ["remote", "call", "--device", "x", "--identity", "/nonexistent", "--timeout=\(timeout)", "gpio.read"])
            #expect(r.status == 64 && r.stderr.contains("--timeout must be 1-86400 seconds"), "\(timeout): \(r.status) \(r.stderr)")
        }
        let port = try ChildProcess.run(
            elactl, ["remote", "call", "--device", "x", "--identity", "/nonexistent", "--bootstrap", "127.0.0.1:70000:" + String(repeating: "a", count: 64), "m"])
        #expect(port.status == 64 && port.stderr.contains("must be host:port"), "\(port.stderr)")
    }
}

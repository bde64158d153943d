#if canImport(Glibc)
import Glibc
#endif

/// A real `ela-regtest` child on a free P2P port with a control socket, for tests that need a chain the agent syncs
/// from over P2P. Stopped with SIGTERM.
public final class RegtestProcess: @unchecked Sendable {  // used by one test at a time
    public static let executable = ChildProcess.product("ela-regtest")
    public let process: ChildProcess
    public let controlSocket: String
    /// The P2P port, for `[spv] peers = ["127.0.0.1:<port>"]`.
    public let port: String

    /// Starts it with its chain in `directory/chain` and waits until it is ready and has written its port.
    public init(in directory: TemporaryDirectory) throws {
        controlSocket = directory.path + "/regtest.sock"
        process = try ChildProcess(
            Self.executable, ["run", "--data-dir", directory.path + "/chain", "--p2p-port", "0", "--control-socket", controlSocket],
            outputDirectory: directory.path)
        let p = process
        guard ChildProcess.waitUntil(timeoutSeconds: 30, { p.stdout.contains("ela-regtest ready") }),
            let port = TestData.readString(directory.path + "/chain/p2p.port")?.split(separator: "\n").first.map(String.init)
        else {
            p.signal(SIGKILL)
            throw ChildProcessError(message: "ela-regtest did not start: \(p.stderr)")
        }
        self.port = port
    }

    /// `ela-regtest <arguments> --control-socket <socket>` (mine, submit, status, fork).
    @discardableResult
    public func control(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(Self.executable, arguments + ["--control-socket", controlSocket])
    }

    public func stop() {
        process.signal(SIGTERM)
        _ = try? process.wait()
    }
}

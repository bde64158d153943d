// PLACEHOLDER until the sandbox helper delivers the real module (replaced wholesale).
public struct SandboxPolicy: Sendable, Equatable {
    public var name: String
    public var uid: Int
    public var gid: Int
    public var stateDirectory: String?
    public var readOnlyPaths: [String]
    public var readWritePaths: [String]
    public var devices: [String]
    public var network: Bool
    public var memoryMB: Int
    public var pids: Int
    public init(name: String, uid: Int, gid: Int, stateDirectory: String?, readOnlyPaths: [String], readWritePaths: [String], devices: [String], network: Bool, memoryMB: Int, pids: Int) {
        self.name = name; self.uid = uid; self.gid = gid; self.stateDirectory = stateDirectory; self.readOnlyPaths = readOnlyPaths
        self.readWritePaths = readWritePaths; self.devices = devices; self.network = network; self.memoryMB = memoryMB; self.pids = pids
    }
    public func launcherArguments(launcher: String, reportFD: Int32?, executable: String, arguments: [String]) -> [String] { [launcher, "--", executable] + arguments }
}
public struct SandboxLayer: Sendable, Equatable {
    public var name: String
    public var state: String
    public var detail: String
}
public struct SandboxReport: Sendable, Equatable {
    public var layers: [SandboxLayer] = []
    public init(lines: String) throws {}
    public var warnings: [SandboxLayer] { [] }
    public var summary: String { "" }
}

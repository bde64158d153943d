#if canImport(Glibc)
import Glibc
#endif
internal import ElaPluginProtocol

/// The plugin's main loop: speaks the plugin protocol (docs/plugin-protocol.md) with the host on `fd`.
public enum PluginMain {
    /// Limits and switches; the defaults are what a plugin started by the agent wants.
    public struct Options: Sendable {
        /// Install SIGTERM/SIGINT handlers (process-wide) that end `run` with status 0. Tests that run a plugin
        /// inside the test process turn this off.
        public var handleSignals = true
        /// Requests handled at once; more are answered -32000 "busy".
        public var maxInFlight = 64
        /// Events waiting for the host; more are dropped and counted.
        public var eventQueueCapacity = 1024
        /// Largest frame accepted; a longer length ends the plugin with status 2.
        public var maxFrame = PluginFraming.defaultMaxFrame
        /// The state directory; nil means `$ELA_STATE_DIR`.
        public var stateDirectory: String?
        /// How long in-flight requests may take to finish once the plugin stops.
        public var shutdownGrace: Duration = .seconds(2)

        public init() {}
    }

    /// Runs until the host closes fd 3 or SIGTERM/SIGINT arrives; returns the exit status: 0 clean, 1 failure
    /// (version mismatch, start failed, socket error), 2 untrusted stream (oversize frame).
    public static func run(_ definition: PluginDefinition, fd: Int32 = 3) async -> Int32 {
        await run(definition, fd: fd, options: Options())
    }

    /// `run` with explicit options.
    public static func run(_ definition: PluginDefinition, fd: Int32 = 3, options: Options) async -> Int32 {
        // fd 3 must be the host's socket. Merely "open" is not enough: when it is closed at exec, the Swift runtime
        // takes the lowest free descriptors for its own eventfd and epoll, and reading those would be nonsense.
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK || (st.st_mode & S_IFMT) == S_IFIFO else {
            PluginLog.write("\(definition.name): file descriptor \(fd) is not a socket from the host; plugins are started by ela-agent")
            return 1
        }
        let stateDirectory = options.stateDirectory ?? environment("ELA_STATE_DIR")
        let session = PluginSession(definition: definition, fd: fd, options: options, stateDirectory: stateDirectory)
        return await session.run()
    }

    /// `run`, then exits the process with its status: the whole `main.swift` of a plugin.
    public static func runAndExit(_ definition: PluginDefinition, fd: Int32 = 3) async -> Never {
        let status = await run(definition, fd: fd)
        exit(status)
    }

    private static func environment(_ name: String) -> String? {
        guard let p = getenv(name), let s = String(validatingCString: p), !s.isEmpty else { return nil }
        return s
    }
}

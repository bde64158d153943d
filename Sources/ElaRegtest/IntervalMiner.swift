public import Logging
public import ServiceLifecycle

/// Mines one block every `interval` until a graceful shutdown (`--mine-interval`).
public struct IntervalMiner: Service {
    let node: RegtestNode
    let interval: Duration
    let logger: Logger

    public init(node: RegtestNode, interval: Duration, logger: Logger) {
        self.node = node
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let (node, interval, logger) = (self.node, self.interval, self.logger)
        try await cancelWhenGracefulShutdown {
            do {
                while true {
                    try await Task.sleep(for: interval)
                    do { _ = try await node.mine(count: 1) } catch {
                        logger.error("scheduled mining failed", metadata: ["error": "\(error)"])
                    }
                }
            } catch is CancellationError {
                // shutting down
            }
        }
    }
}

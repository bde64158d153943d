import ElaLoopExecutor
import NIOCore
import NIOPosix
import Testing

@Suite struct EventLoopTaskExecutorTests {
    @Test func aTaskRunsOnItsLoopAcrossAwaitsAndOffLoopLeavesIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let seen = await Task(executorPreference: EventLoopTaskExecutor(loop)) { () -> [Bool] in
            var seen = [loop.inEventLoop]
            // A future completed on the loop resumes the task there, without another thread.
            _ = try? await loop.submit { 1 }.get()
            seen.append(loop.inEventLoop)
            seen.append(await offLoop { loop.inEventLoop })
            seen.append(loop.inEventLoop)
            return seen
        }.value
        #expect(seen == [true, true, false, true])
        try await group.shutdownGracefully()
    }
}

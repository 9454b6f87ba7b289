import NIOPosix

/// Work that waits on the kernel (a file read), done on NIO's thread pool so that
/// a request handler never holds one of the few concurrency-pool threads while
/// it waits: with every one of them waiting, nothing else in the desk runs.
enum Blocking {
    /// `work`'s result, computed off the concurrency pool.
    static func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await NIOThreadPool.singleton.runIfActive(work)
    }
}

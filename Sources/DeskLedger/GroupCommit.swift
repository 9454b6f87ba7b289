import Foundation
import GRDB
import Synchronization

/// Batches writes from concurrent callers into one transaction, so durability
/// costs one fsync per batch instead of one per order. Each caller's work runs
/// in its own savepoint: one caller's error rolls back only that caller's writes.
///
/// `run()` is the writer loop (a long-running service); `write(_:)` waits until
/// the work is committed.
final class GroupCommit: Sendable {
    private struct Job: Sendable {
        let work: @Sendable (Database) throws -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var queue: [Job] = []
        var closed = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Off: each write is its own transaction (for measuring what batching buys).
    let batching: Bool

    init(pool: DatabasePool, batching: Bool) {
        self.pool = pool
        self.batching = batching
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs `work` in the next batch and returns its result once it is durable.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if !batching {
            return try await pool.write { db in try work(db) }
        }
        let box = Mutex<T?>(nil)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = Job(
                work: { db in
                    let value = try work(db)
                    box.withLock { $0 = value }
                },
                finish: { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                })
            let accepted = state.withLock { state -> Bool in
                if state.closed { return false }
                state.queue.append(job)
                return true
            }
            if accepted { wake.yield() } else { job.finish(LedgerError.closed) }
        }
        return box.withLock { $0! }
    }

    /// The writer loop. Returns when `close()` was called and the queue is empty.
    func run() async {
        var iterator = wakeups.makeAsyncIterator()
        while true {
            let (batch, closed) = state.withLock { state in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                return (batch, state.closed)
            }
            if batch.isEmpty {
                if closed { return }
                if await iterator.next() == nil { return }
                continue
            }
            await commit(batch)
        }
    }

    /// Stops taking work; queued work is still committed.
    func close() {
        state.withLock { $0.closed = true }
        wake.yield()
        wake.finish()
    }

    private func commit(_ batch: [Job]) async {
        do {
            let outcomes: [(any Error)?] = try await pool.write { db in
                batch.map { job in
                    do {
                        try db.inSavepoint {
                            try job.work(db)
                            return .commit
                        }
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            for (job, outcome) in zip(batch, outcomes) { job.finish(outcome) }
        } catch {
            for job in batch { job.finish(error) }
        }
    }
}

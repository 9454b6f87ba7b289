import Dispatch
import Foundation
import GRDB
import Synchronization

/// The ledger's one writer for the order path: a thread of its own that takes
/// every write queued since its last commit and commits them as one transaction
/// (group commit), so durability costs one fsync per batch, not per order.
///
/// A thread rather than a task: the commit blocks in `fsync`, and on a machine
/// with few cores a blocked thread of Swift's cooperative pool would stall
/// requests. While one batch is being made durable the next one gathers.
/// Writers enqueue and wait on a continuation: no hop through an actor, a task
/// or GRDB's async API per order.
///
/// A batch commits optimistically in one transaction; when a write in it fails,
/// the batch is rolled back and every write runs again in its own transaction,
/// so one caller's error fails only that caller (no savepoint per write).
/// With `batching` off every write is its own transaction (to measure what
/// batching buys). The thread starts with the first write and ends after
/// `close()` once the queue is empty.
final class LedgerWriter: Sendable {
    /// One queued write: runs in a transaction and returns how to tell its caller it is durable.
    private struct Job: Sendable {
        let run: @Sendable (Database) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var queue: [Job] = []
        var closed = false
        var started = false
        var sleeping = false
        var finished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let database: any DatabaseWriter
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let rolledBack: @Sendable () -> Void
    /// Off: each write is its own transaction.
    let batching: Bool

    /// A writer for `database`; `rolledBack` is called after any transaction of
    /// its rolled back (what the writes kept in memory is stale then).
    init(database: any DatabaseWriter, batching: Bool, rolledBack: @escaping @Sendable () -> Void) {
        self.database = database
        self.batching = batching
        self.rolledBack = rolledBack
    }

    /// Runs `work` in the next batch and returns its result once it is durable.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws
        -> T
    {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue(
                Job(
                    run: { db in
                        let value = try work(db)
                        return { continuation.resume(returning: value) }
                    },
                    fail: { continuation.resume(throwing: $0) }))
        }
    }

    private func enqueue(_ job: Job) {
        let (accepted, start, wake) = state.withLock { state -> (Bool, Bool, Bool) in
            if state.closed { return (false, false, false) }
            state.queue.append(job)
            let start = !state.started
            state.started = true
            let wake = state.sleeping
            state.sleeping = false
            return (true, start, wake)
        }
        if !accepted { return job.fail(LedgerError.closed) }
        if start {
            let thread = Thread { [self] in loop() }
            thread.name = "desk-ledger-writer"
            thread.start()
        } else if wake {
            wakeup.signal()
        }
    }

    /// Stops taking writes; queued ones still commit.
    func close() {
        let (wake, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            state.closed = true
            let wake = state.sleeping
            state.sleeping = false
            guard !state.started else { return (wake, []) }
            // No thread ever started: nothing to drain.
            state.finished = true
            defer { state.finishWaiters.removeAll() }
            return (wake, state.finishWaiters)
        }
        if wake { wakeup.signal() }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the writer has committed everything and stopped (after `close()`).
    func finished() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if !state.finished { state.finishWaiters.append(continuation) }
                return state.finished
            }
            if done { continuation.resume() }
        }
    }

    private func loop() {
        while true {
            let (batch, closed) = state.withLock { state -> ([Job], Bool) in
                let batch = state.queue
                state.queue.removeAll(keepingCapacity: true)
                if batch.isEmpty && !state.closed { state.sleeping = true }
                return (batch, state.closed)
            }
            if batch.isEmpty {
                if closed { break }
                wakeup.wait()
                continue
            }
            if batching {
                commit(batch)
            } else {
                for job in batch { commitAlone(job) }
            }
        }
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.finishWaiters.removeAll() }
            return state.finishWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func commit(_ batch: [Job]) {
        if batch.count == 1 { return commitAlone(batch[0]) }
        var failed = false
        do {
            let done = try database.write { db -> [@Sendable () -> Void] in
                var done: [@Sendable () -> Void] = []
                done.reserveCapacity(batch.count)
                for job in batch {
                    do {
                        done.append(try job.run(db))
                    } catch {
                        failed = true
                        throw error
                    }
                }
                return done
            }
            for resume in done { resume() }
        } catch {
            rolledBack()
            if !failed {
                // The commit itself failed (disk full, I/O error): nothing of the batch is durable.
                for job in batch { job.fail(error) }
                return
            }
            for job in batch { commitAlone(job) }
        }
    }

    private func commitAlone(_ job: Job) {
        do {
            let resume = try database.write { db in try job.run(db) }
            resume()
        } catch {
            rolledBack()
            job.fail(error)
        }
    }
}

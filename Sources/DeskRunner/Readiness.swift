import Foundation
import Synchronization

/// Counts a sandboxed strategy's requests for input: the reads of stdin it
/// starts while nothing is waiting there, as its launcher reports them (one byte
/// each on a FIFO). How a backtest knows a strategy has finished with the tick it
/// was given — it is asking for the next one.
///
/// Tick N was handled once request N+1 arrives (request 1 asks for the first
/// tick). That holds for any program that reads stdin with blocking reads — the
/// seed's `for line in sys.stdin:` loop, `readline()`, `input()`, raw reads of
/// any size; not for one that waits on a timer, reads stdin without blocking, or
/// answers a tick from another thread after it has asked for the next.
public final class ReadinessCounter: Sendable {
    /// The FIFO the launcher writes to (outside the strategy's sandbox).
    public let path: String
    private let fd: Int32
    private struct State {
        var count = 0
        var closed = false
        var nextWaiter = 0
        var exit: StrategyExit?
        var waiters: [(id: Int, reads: Int, continuation: CheckedContinuation<Answer, Never>)] = []
    }
    private let state = Mutex(State())

    /// Makes the FIFO at `path` (mode 0600, replacing one left there) and starts counting.
    public init(path: String) throws {
        self.path = path
        unlink(path)
        guard mkfifo(path, 0o600) == 0 else {
            throw ReadinessProblem(message: "cannot make the FIFO \(path): \(String(cString: strerror(errno)))")
        }
        // Read-write, so that it never reads end-of-file between writers; blocking: a
        // thread of its own waits in read(2), the shortest way from the launcher's
        // byte to the waiting driver (a tick costs two of these hand-offs).
        fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw ReadinessProblem(message: "cannot open the FIFO \(path): \(String(cString: strerror(errno)))")
        }
        // The thread holds the counter until `close()` ends it.
        let thread = Thread { self.countReads() }
        thread.name = "readiness \(path)"
        thread.start()
    }

    /// The counting thread: each byte read is one request; ends once closed.
    private func countReads() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if got < 0 && errno == EINTR { continue }
            let (due, count, closed) = state.withLock {
                state -> ([CheckedContinuation<Answer, Never>], Int, Bool) in
                if state.closed || got <= 0 { return ([], state.count, true) }
                state.count += got
                let count = state.count
                let due = state.waiters.filter { $0.reads <= count }.map(\.continuation)
                state.waiters.removeAll { $0.reads <= count }
                return (due, count, false)
            }
            for waiter in due { waiter.resume(returning: Answer.asked(count)) }
            if closed { break }
        }
        Glibc.close(fd)
    }

    /// Reads started so far.
    public var count: Int { state.withLock { $0.count } }

    /// What became of a strategy a tick was given to.
    public enum Answer: Sendable, Equatable {
        /// It asked for the next tick; the count of requests so far.
        case asked(Int)
        /// It ended first (see `ended(_:)`).
        case ended(StrategyExit)
        /// The counter was closed, or the waiting task cancelled.
        case closed
    }

    /// Waits until `reads` requests have come, or the strategy has ended.
    public func wait(forReads reads: Int) async -> Answer {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Answer? in
                    if state.count >= reads { return .asked(state.count) }
                    if let exit = state.exit { return .ended(exit) }
                    if state.closed || Task.isCancelled { return .closed }
                    state.waiters.append((id, reads, continuation))
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Answer, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: .closed)
        }
    }

    /// The strategy ended (its runner saw it exit): every waiter, now and later, learns how.
    public func ended(_ exit: StrategyExit) {
        let waiters = state.withLock { state -> [CheckedContinuation<Answer, Never>] in
            state.exit = exit
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(returning: .ended(exit)) }
    }

    /// Stops counting, releases every waiter (`.closed`) and removes the FIFO.
    public func close() {
        let waiters = state.withLock { state -> [CheckedContinuation<Answer, Never>] in
            guard !state.closed else { return [] }
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.map(\.continuation)
        }
        for waiter in waiters { waiter.resume(returning: .closed) }
        // Wakes the counting thread, which sees `closed`, counts nothing and closes the FIFO.
        var wake: UInt8 = 0
        _ = write(fd, &wake, 1)
        unlink(path)
    }
}

/// The readiness FIFO could not be made.
public struct ReadinessProblem: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

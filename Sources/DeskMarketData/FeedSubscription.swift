import DequeModule
import Synchronization

/// One subscriber's bounded buffer of feed lines, read by one consumer task with
/// `for await line in subscription`.
///
/// The hub appends without ever waiting: when the buffer holds `capacity` lines the
/// oldest is dropped and counted, so a stuck consumer costs at most `capacity`
/// lines of memory and slows nobody. A consumer waiting for a line is handed the
/// next one directly.
///
/// The sequence ends (the iterator returns nil) after ``cancel()``, when the hub
/// shuts down (after the lines still buffered), when a newer subscription takes the
/// same id, or when the consuming task is cancelled while it waits — which also
/// cancels the subscription. Only one task may iterate a subscription.
public final class FeedSubscription: AsyncSequence, Sendable {
    /// What the sequence yields.
    public typealias Element = FeedLine
    /// The sequence never throws.
    public typealias Failure = Never

    private struct State {
        var buffer: Deque<FeedLine> = []
        /// The consumer, while it waits on an empty buffer.
        var waiter: CheckedContinuation<FeedLine?, Never>?
        var ended = false
        var delivered = 0
        var dropped = 0
    }

    /// The subscriber's id (for a strategy, its name).
    public let id: String
    /// The symbols it receives; nil for every symbol.
    public let symbols: Set<String>?
    /// Most lines held for it at once.
    public let capacity: Int
    private let state = Mutex(State())
    private weak let hub: FeedHub?

    /// Made by ``FeedHub/subscribe(id:symbols:capacity:)``.
    init(id: String, symbols: Set<String>?, capacity: Int, hub: FeedHub) {
        self.id = id
        self.symbols = symbols
        self.capacity = capacity
        self.hub = hub
    }

    /// Lines handed to the consumer so far.
    public var delivered: Int { state.withLock { $0.delivered } }
    /// Lines dropped because the buffer was full.
    public var dropped: Int { state.withLock { $0.dropped } }
    /// Lines waiting in the buffer (at most ``capacity``).
    public var buffered: Int { state.withLock { $0.buffer.count } }
    /// True once the subscription ended; buffered lines may still be read.
    public var isFinished: Bool { state.withLock { $0.ended } }

    /// Stops the subscription: buffered lines are discarded, the hub forgets it and a
    /// pending `next()` returns nil. Safe to call more than once, from any task.
    public func cancel() {
        end(discardingBuffered: true)
        hub?.forget(self)
    }

    /// The counters, read together.
    var snapshot: FeedStatistics.Subscriber {
        state.withLock { state in
            FeedStatistics.Subscriber(
                id: id, symbols: symbols, capacity: capacity, delivered: state.delivered, dropped: state.dropped,
                buffered: state.buffer.count)
        }
    }

    /// Appends a line, dropping the oldest when full, or hands it to a waiting consumer.
    func push(_ line: FeedLine) {
        let waiter = state.withLock { state -> CheckedContinuation<FeedLine?, Never>? in
            if state.ended { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                state.delivered += 1
                return waiter
            }
            if state.buffer.count >= capacity {
                state.buffer.removeFirst()
                state.dropped += 1
            }
            state.buffer.append(line)
            return nil
        }
        waiter?.resume(returning: line)
    }

    /// Appends a line that did not come from the hub — one of the strategy's
    /// order events — in order with the ticks: after every tick pushed before,
    /// before every tick pushed after. Never waits; a full buffer drops its
    /// oldest line as for ticks.
    public func pushEvent(_ line: FeedLine) {
        push(line)
    }

    /// Takes the lines already buffered (at most `limit`) without waiting, so a
    /// consumer that just got one line can write a burst in one go.
    public func takeBuffered(limit: Int) -> [FeedLine] {
        state.withLock { state in
            var lines: [FeedLine] = []
            while lines.count < limit, let line = state.buffer.popFirst() {
                lines.append(line)
            }
            state.delivered += lines.count
            return lines
        }
    }

    /// Ends the sequence; the consumer reads what is buffered (unless discarded), then nil.
    func end(discardingBuffered: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<FeedLine?, Never>? in
            state.ended = true
            if discardingBuffered { state.buffer = [] }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    private enum Immediate {
        case line(FeedLine)
        case end
        case wait
    }

    private func take() -> Immediate {
        state.withLock { state in
            if let line = state.buffer.popFirst() {
                state.delivered += 1
                return .line(line)
            }
            return state.ended ? .end : .wait
        }
    }

    /// The next line: at once when one is buffered, otherwise after the hub pushes one.
    func next(isolation actor: isolated (any Actor)?) async -> FeedLine? {
        switch take() {
        case .line(let line): return line
        case .end: return nil
        case .wait: break
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: actor) { (continuation: CheckedContinuation<FeedLine?, Never>) in
                let immediate = state.withLock { state -> FeedLine?? in
                    if let line = state.buffer.popFirst() {
                        state.delivered += 1
                        return .some(line)
                    }
                    if state.ended { return .some(nil) }
                    precondition(
                        state.waiter == nil,
                        "two tasks iterate FeedSubscription \"\(id)\"; a subscription has one consumer")
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            // Runs before the operation when the task is already cancelled; `ended`
            // then makes the operation return nil at once.
            cancel()
        }
    }

    /// Iterates the subscription's lines.
    public struct AsyncIterator: AsyncIteratorProtocol {
        /// The subscription iterated.
        let subscription: FeedSubscription

        /// The next line, or nil once the subscription ended.
        public mutating func next() async -> FeedLine? {
            await subscription.next(isolation: nil)
        }

        /// The next line without leaving the caller's actor, or nil once the subscription ended.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> FeedLine? {
            await subscription.next(isolation: actor)
        }
    }

    /// The iterator; make one per subscription.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }
}

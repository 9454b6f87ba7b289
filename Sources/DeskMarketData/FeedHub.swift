import DequeModule
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Fans ticks out to subscribers, each through its own bounded buffer, so a slow
/// or stuck subscriber never slows the source or the others: when its buffer is
/// full the oldest line is dropped and counted. Observers (the paper broker's
/// price book) see every tick first, synchronously.
public final class FeedHub: Service, Sendable {
    private struct State {
        var subscriptions: [String: FeedSubscription] = [:]
        var observers: [@Sendable (Tick) -> Void] = []
        var published = 0
        var finished = false
    }

    private let source: (any TickSource)?
    private let logger: Logger
    private let state = Mutex(State())

    /// A hub pulling from `source`; nil for a hub fed only by `publish`.
    public init(source: (any TickSource)?, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    /// A bounded subscription: `symbols == nil` means every symbol. An earlier
    /// subscription with the same id is finished and replaced.
    public func subscribe(id: String, symbols: Set<String>?, capacity: Int = 1024) -> FeedSubscription {
        let subscription = FeedSubscription(id: id, symbols: symbols, capacity: max(1, capacity), hub: self)
        let (replaced, finished) = state.withLock { state -> (FeedSubscription?, Bool) in
            if state.finished { return (nil, true) }
            let old = state.subscriptions.updateValue(subscription, forKey: id)
            return (old, false)
        }
        replaced?.finish()
        if finished { subscription.finish() }
        return subscription
    }

    /// Calls `observer` for every tick, before fan-out. Must be cheap.
    public func observe(_ observer: @escaping @Sendable (Tick) -> Void) {
        state.withLock { $0.observers.append(observer) }
    }

    /// Publishes one tick to observers and matching subscribers.
    public func publish(_ tick: Tick) {
        let (observers, subscriptions) = state.withLock { state in
            state.published += 1
            return (state.observers, Array(state.subscriptions.values))
        }
        for observer in observers { observer(tick) }
        if subscriptions.isEmpty { return }
        let line = FeedLine(tick: tick)
        for subscription in subscriptions where subscription.wants(tick.symbol) {
            subscription.push(line)
        }
    }

    func remove(_ subscription: FeedSubscription) {
        state.withLock { state in
            if state.subscriptions[subscription.id] === subscription { state.subscriptions[subscription.id] = nil }
        }
    }

    /// Counts for status and metrics.
    public var statistics: FeedStatistics {
        state.withLock { state in
            FeedStatistics(
                ticksPublished: state.published,
                subscribers: state.subscriptions.values.map {
                    FeedStatistics.Subscriber(
                        id: $0.id, symbols: $0.symbols, delivered: $0.delivered, dropped: $0.dropped,
                        buffered: $0.buffered)
                }.sorted { $0.id < $1.id })
        }
    }

    /// The symbols subscribers want; nil when any subscriber wants everything.
    public var wantedSymbols: Set<String>? {
        state.withLock { state in
            var union = Set<String>()
            for subscription in state.subscriptions.values {
                guard let symbols = subscription.symbols else { return nil }
                union.formUnion(symbols)
            }
            return union
        }
    }

    /// Pulls from the source until shutdown; when the source ends the hub stays up
    /// (for published ticks) until shutdown. Every subscription finishes on shutdown.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            if let source {
                logger.info("market data source started", metadata: ["source": "\(source.name)"])
                try await source.run { tick in self.publish(tick) }
                logger.info("market data source ended", metadata: ["source": "\(source.name)"])
            }
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            self.finish()
        }
        finish()
    }

    /// Finishes every subscription and refuses new ones.
    public func finish() {
        let subscriptions = state.withLock { state in
            state.finished = true
            defer { state.subscriptions.removeAll() }
            return Array(state.subscriptions.values)
        }
        for subscription in subscriptions { subscription.finish() }
    }
}

/// Counts of a hub and its subscribers.
public struct FeedStatistics: Sendable, Equatable {
    public struct Subscriber: Sendable, Equatable {
        public var id: String
        public var symbols: Set<String>?
        public var delivered: Int
        public var dropped: Int
        public var buffered: Int
    }

    public var ticksPublished: Int
    public var subscribers: [Subscriber]
}

/// One subscriber's bounded buffer of lines. One consumer iterates it.
public final class FeedSubscription: AsyncSequence, Sendable {
    public typealias Element = FeedLine

    private struct State {
        var buffer: Deque<FeedLine> = []
        var waiter: CheckedContinuation<FeedLine?, Never>?
        var finished = false
        var delivered = 0
        var dropped = 0
    }

    public let id: String
    public let symbols: Set<String>?
    public let capacity: Int
    private weak let hub: FeedHub?
    private let state = Mutex(State())

    init(id: String, symbols: Set<String>?, capacity: Int, hub: FeedHub) {
        self.id = id
        self.symbols = symbols
        self.capacity = capacity
        self.hub = hub
    }

    func wants(_ symbol: String) -> Bool { symbols?.contains(symbol) ?? true }

    /// Lines handed to the consumer so far.
    public var delivered: Int { state.withLock { $0.delivered } }
    /// Lines dropped because the buffer was full.
    public var dropped: Int { state.withLock { $0.dropped } }
    /// Lines waiting in the buffer.
    public var buffered: Int { state.withLock { $0.buffer.count } }

    func push(_ line: FeedLine) {
        let waiter = state.withLock { state -> CheckedContinuation<FeedLine?, Never>? in
            if state.finished { return nil }
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

    /// Ends the subscription: the consumer gets what is buffered, then nil.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<FeedLine?, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Stops the subscription; the hub forgets it and a pending `next()` returns nil.
    public func cancel() {
        state.withLock { $0.buffer.removeAll() }
        finish()
        hub?.remove(self)
    }

    func next() async -> FeedLine? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<FeedLine?, Never>) in
                let immediate = state.withLock { state -> FeedLine?? in
                    if let line = state.buffer.popFirst() {
                        state.delivered += 1
                        return .some(line)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            finish()
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: FeedSubscription
        public mutating func next() async -> FeedLine? { await subscription.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }
}

import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Fans ticks out to subscribers, each through its own bounded buffer, so a slow or
/// stuck subscriber never slows the source, the observers or the other subscribers.
///
/// Every tick — from the source or from ``publish(_:)`` — goes the same way: the
/// observers see it first, synchronously; then, if any subscriber wants its symbol,
/// it is encoded once into a ``FeedLine`` that all of them share. Ticks are published
/// one at a time, so observers and every subscriber see them in the same order.
///
/// As a `Service` it runs its source until graceful shutdown or cancellation. When
/// the source ends or fails, that is logged and the hub stays up (published ticks
/// still flow) until shutdown, so one finished replay does not stop the desk. At
/// shutdown every subscription finishes: its consumer reads what is buffered, then
/// the iterator returns nil.
public final class FeedHub: Service, Sendable {
    private struct Registry {
        var subscriptions: [String: FeedSubscription] = [:]
        var routes = Routes()
        var observers: [@Sendable (Tick) -> Void] = []
        /// Streams of ``demand`` changes, by watcher number.
        var demandWatchers: [Int: AsyncStream<FeedDemand>.Continuation] = [:]
        var nextWatcher = 0
        var shutDown = false
        var sourceState: FeedStatistics.SourceState

        /// Rebuilds the routes from the subscriptions and tells the demand watchers
        /// when the demand changed. `yield` never calls back into the hub, so it is
        /// safe under the lock, and watchers see changes in the order they happened.
        mutating func rebuildRoutes() {
            let before = routes.demand
            routes = Routes(subscriptions.values)
            if routes.demand != before {
                for watcher in demandWatchers.values { watcher.yield(routes.demand) }
            }
        }
    }

    /// Who receives which symbol. Rebuilt when subscriptions change (rarely), so
    /// publishing only reads it: one dictionary lookup per tick.
    private struct Routes {
        var everything: [FeedSubscription] = []
        var bySymbol: [String: [FeedSubscription]] = [:]
        var wanted: Set<String>? = []
        var demand = FeedDemand()

        init() {}

        init(_ subscriptions: some Sequence<FeedSubscription>) {
            for subscription in subscriptions {
                guard let symbols = subscription.symbols else {
                    everything.append(subscription)
                    continue
                }
                for symbol in symbols { bySymbol[symbol, default: []].append(subscription) }
            }
            wanted = everything.isEmpty ? Set(bySymbol.keys) : nil
            demand = FeedDemand(symbols: Set(bySymbol.keys), everySymbol: !everything.isEmpty)
        }
    }

    private let source: (any TickSource)?
    private let logger: Logger
    private let registry: Mutex<Registry>
    /// Ticks published so far. Held for the whole of a publish, which keeps ticks in one order.
    private let publishing = Mutex(0)

    /// A hub that pulls from `source` when it runs.
    public init(source: any TickSource, logger: Logger) {
        self.source = source
        self.logger = logger
        registry = Mutex(Registry(sourceState: .notStarted))
    }

    /// A hub that pulls from `source` when it runs, or, for nil, one fed only by ``publish(_:)``.
    public init(source: (any TickSource)?, logger: Logger) {
        self.source = source
        self.logger = logger
        registry = Mutex(Registry(sourceState: source == nil ? .none : .notStarted))
    }

    /// The source's name; nil for a hub without a source.
    public var sourceName: String? { source?.name }

    // MARK: Subscribing

    /// A bounded subscription: `symbols == nil` means every symbol. When the buffer is
    /// full the OLDEST line is dropped and counted. `capacity` is at least 1.
    ///
    /// A subscription with the same `id` as an existing one replaces it (the old one
    /// ends, its buffer discarded). After shutdown the subscription comes back
    /// already finished.
    public func subscribe(id: String, symbols: Set<String>?, capacity: Int = 1024) -> FeedSubscription {
        let subscription = FeedSubscription(id: id, symbols: symbols, capacity: max(1, capacity), hub: self)
        let (replaced, refused) = registry.withLock { registry -> (FeedSubscription?, Bool) in
            if registry.shutDown { return (nil, true) }
            let replaced = registry.subscriptions.updateValue(subscription, forKey: id)
            registry.rebuildRoutes()
            return (replaced, false)
        }
        replaced?.end(discardingBuffered: true)
        if refused {
            subscription.end(discardingBuffered: true)
            logger.warning("feed subscription after shutdown", metadata: ["subscriber": "\(id)"])
        } else {
            logger.debug(
                "feed subscription",
                metadata: [
                    "subscriber": "\(id)", "symbols": "\(symbols.map { $0.sorted().joined(separator: ",") } ?? "*")",
                    "capacity": "\(subscription.capacity)", "replaced": "\(replaced != nil)",
                ])
        }
        return subscription
    }

    /// Removes `subscription` if it is still the one registered under its id.
    func forget(_ subscription: FeedSubscription) {
        let removed = registry.withLock { registry in
            guard registry.subscriptions[subscription.id] === subscription else { return false }
            registry.subscriptions[subscription.id] = nil
            registry.rebuildRoutes()
            return true
        }
        if removed { logger.debug("feed subscription canceled", metadata: ["subscriber": "\(subscription.id)"]) }
    }

    /// Called synchronously for every tick before fan-out (the paper broker's price
    /// book and metrics use this). Must be cheap, and must not call ``publish(_:)``.
    public func observe(_ observer: @escaping @Sendable (Tick) -> Void) {
        registry.withLock { $0.observers.append(observer) }
    }

    // MARK: Publishing

    /// Publishes a tick that did not come from the source (e.g. a price pushed by an
    /// admin); same path as source ticks. Never waits for a subscriber.
    public func publish(_ tick: Tick) {
        publishing.withLock { published in
            published += 1
            let (routes, observers) = registry.withLock { ($0.routes, $0.observers) }
            for observer in observers { observer(tick) }
            let matching = routes.bySymbol[tick.symbol]
            if routes.everything.isEmpty && matching == nil { return }
            let line = FeedLine(tick: tick)
            for subscription in routes.everything { subscription.push(line) }
            for subscription in matching ?? [] { subscription.push(line) }
        }
    }

    // MARK: Service

    /// Pulls from the source and fans out until graceful shutdown/cancellation or the
    /// source ends (then it keeps running idle until shutdown, so the service group
    /// does not stop; the end is logged). On shutdown every subscription finishes
    /// (its iterator returns nil once its buffer is read). Run it once.
    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            await pump()
        }
        finish()
        logger.info(
            "feed hub stopped",
            metadata: ["source": "\(source?.name ?? "none")", "ticks": "\(publishing.withLock { $0 })"])
    }

    private func pump() async {
        if let source {
            setSourceState(.running)
            logger.info("market data source started", metadata: ["source": "\(source.name)"])
            do {
                try await source.run(demand: self) { tick in self.publish(tick) }
                if Task.isCancelled { return }
                setSourceState(.ended)
                logger.notice(
                    "market data source ended; the feed stays up for published prices until shutdown",
                    metadata: ["source": "\(source.name)", "ticks": "\(publishing.withLock { $0 })"])
            } catch {
                if Task.isCancelled || error is CancellationError { return }
                setSourceState(.failed("\(error)"))
                logger.error(
                    "market data source failed; the feed stays up for published prices until shutdown",
                    metadata: ["source": "\(source.name)", "error": "\(error)"])
            }
        }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    private func setSourceState(_ state: FeedStatistics.SourceState) {
        registry.withLock { $0.sourceState = state }
    }

    /// Finishes every subscription and refuses new ones; what ``run()`` does at
    /// shutdown, for a hub that is fed only by ``publish(_:)`` and never run.
    /// Observers still see published ticks.
    public func finish() {
        let (subscriptions, watchers) = registry.withLock { registry in
            registry.shutDown = true
            if case .running = registry.sourceState { registry.sourceState = .stopped }
            if case .notStarted = registry.sourceState { registry.sourceState = .stopped }
            let subscriptions = Array(registry.subscriptions.values)
            registry.subscriptions = [:]
            registry.routes = Routes()
            defer { registry.demandWatchers = [:] }
            return (subscriptions, Array(registry.demandWatchers.values))
        }
        for subscription in subscriptions { subscription.end(discardingBuffered: false) }
        // Outside the lock: finishing runs the streams' termination handlers, which take it.
        for watcher in watchers { watcher.finish() }
    }

    // MARK: Status

    /// Counts for status and metrics: ticks published, the source's state, and per
    /// subscriber (sorted by id) its symbols, delivered, dropped and buffered lines.
    public var statistics: FeedStatistics {
        let published = publishing.withLock { $0 }
        let (subscriptions, sourceState) = registry.withLock { (Array($0.subscriptions.values), $0.sourceState) }
        return FeedStatistics(
            ticksPublished: published, source: source?.name, sourceState: sourceState,
            subscribers: subscriptions.map(\.snapshot).sorted { $0.id < $1.id })
    }

    /// Union of the symbols current subscribers want; nil when any subscriber wants
    /// everything (used to subscribe an upstream feed only to what is needed).
    public var wantedSymbols: Set<String>? {
        registry.withLock { $0.routes.wanted }
    }
}

extension FeedHub: FeedDemandProvider {
    /// What current subscribers want: the symbols they name, and whether one wants every symbol.
    public var demand: FeedDemand {
        registry.withLock { $0.routes.demand }
    }

    /// The current ``demand`` at once, then each new value as subscribers come and
    /// go (only the newest is kept for a slow reader). The stream ends when the hub
    /// finishes; after that it yields the last value and ends.
    public func demandChanges() -> AsyncStream<FeedDemand> {
        let (stream, continuation) = AsyncStream.makeStream(of: FeedDemand.self, bufferingPolicy: .bufferingNewest(1))
        let (watcher, finished) = registry.withLock { registry -> (Int, Bool) in
            continuation.yield(registry.routes.demand)
            if registry.shutDown { return (0, true) }
            registry.nextWatcher += 1
            registry.demandWatchers[registry.nextWatcher] = continuation
            return (registry.nextWatcher, false)
        }
        if finished {
            continuation.finish()
        } else {
            continuation.onTermination = { [weak self] _ in
                _ = self?.registry.withLock { $0.demandWatchers.removeValue(forKey: watcher) }
            }
        }
        return stream
    }
}

/// Counts of a hub and its subscribers, read together.
public struct FeedStatistics: Sendable, Equatable {
    /// One subscriber's counts.
    public struct Subscriber: Sendable, Equatable {
        /// The subscription's id.
        public var id: String
        /// Its symbols; nil for every symbol.
        public var symbols: Set<String>?
        /// Most lines held for it at once.
        public var capacity: Int
        /// Lines handed to its consumer.
        public var delivered: Int
        /// Lines dropped because its buffer was full.
        public var dropped: Int
        /// Lines waiting in its buffer.
        public var buffered: Int

        /// Counts as given.
        public init(id: String, symbols: Set<String>?, capacity: Int, delivered: Int, dropped: Int, buffered: Int) {
            self.id = id
            self.symbols = symbols
            self.capacity = capacity
            self.delivered = delivered
            self.dropped = dropped
            self.buffered = buffered
        }
    }

    /// Where the hub's source is in its life.
    public enum SourceState: Sendable, Equatable {
        /// The hub has no source; it is fed only by `publish`.
        case none
        /// The hub has not run yet.
        case notStarted
        /// The source is emitting ticks.
        case running
        /// The source finished (a replay reached its end); the hub is still up.
        case ended
        /// The source threw this error; the hub is still up.
        case failed(String)
        /// The hub shut down while the source was running.
        case stopped
    }

    /// Ticks published (from the source and by `publish`), whether or not anyone wanted them.
    public var ticksPublished: Int
    /// The source's name; nil for a hub without a source.
    public var source: String?
    /// Where the source is in its life.
    public var sourceState: SourceState
    /// Current subscribers, sorted by id.
    public var subscribers: [Subscriber]

    /// Counts as given.
    public init(ticksPublished: Int, source: String?, sourceState: SourceState, subscribers: [Subscriber]) {
        self.ticksPublished = ticksPublished
        self.source = source
        self.sourceState = sourceState
        self.subscribers = subscribers
    }
}

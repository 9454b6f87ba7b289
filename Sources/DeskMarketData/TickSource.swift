/// Where ticks come from: a synthetic generator, a file replay, a live feed.
///
/// A ``FeedHub`` runs exactly one source and publishes whatever it emits.
public protocol TickSource: Sendable {
    /// Short description for logs and status (`synthetic (3 symbols, 20 ticks/s, seed 1)`, `replay ticks.csv`).
    var name: String { get }
    /// Emits ticks until the source is exhausted (returns) or the task is cancelled.
    ///
    /// The sources in this module return normally when cancelled; a thrown error
    /// means the source failed (the hub logs it and stays up).
    func run(_ emit: @Sendable (Tick) async -> Void) async throws

    /// Like ``run(_:)``, for a source that subscribes upstream to only what the
    /// hub's subscribers want (a live feed); `demand` tells it what that is as it
    /// changes. The hub calls this one; by default it ignores `demand` and calls ``run(_:)``.
    func run(demand: any FeedDemandProvider, _ emit: @escaping @Sendable (Tick) async -> Void) async throws
}

extension TickSource {
    /// Ignores `demand`: the source emits what it has, the hub routes it.
    public func run(demand: any FeedDemandProvider, _ emit: @escaping @Sendable (Tick) async -> Void) async throws {
        try await run(emit)
    }
}

/// What a hub's subscribers want together.
public struct FeedDemand: Sendable, Equatable, CustomStringConvertible {
    /// Every symbol some subscriber named.
    public var symbols: Set<String>
    /// True when some subscriber wants every symbol.
    public var everySymbol: Bool

    /// A demand for `symbols`, and for every symbol when `everySymbol`.
    public init(symbols: Set<String> = [], everySymbol: Bool = false) {
        self.symbols = symbols
        self.everySymbol = everySymbol
    }

    /// `AAPL,MSFT`, with `+ every symbol` when some subscriber wants all.
    public var description: String {
        let named = symbols.sorted().joined(separator: ",")
        return everySymbol ? (named.isEmpty ? "every symbol" : named + " + every symbol") : named
    }
}

/// Tells a source what the hub's subscribers want, for sources that subscribe upstream per symbol.
public protocol FeedDemandProvider: Sendable {
    /// What subscribers want now.
    var demand: FeedDemand { get }
    /// The current ``demand`` at once, then each new value as it changes; a reader
    /// that falls behind gets only the newest. Each call makes a new stream.
    func demandChanges() -> AsyncStream<FeedDemand>
}

/// A demand that never changes (a source run outside a hub, tests).
public struct FixedFeedDemand: FeedDemandProvider {
    /// What is wanted, always.
    public let demand: FeedDemand

    /// Wants `demand`, always.
    public init(_ demand: FeedDemand) { self.demand = demand }

    /// Yields ``demand`` once and stays open until the reader stops.
    public func demandChanges() -> AsyncStream<FeedDemand> {
        let demand = self.demand
        return AsyncStream { continuation in continuation.yield(demand) }
    }
}

/// Pacing helpers shared by the sources.
enum Pacing {
    /// Ticks emitted in a row before a source that is not sleeping yields its thread.
    static let ticksBetweenYields = 256

    /// Shortest sleep a source takes: ticks due sooner are emitted at once, so high
    /// rates go out in batches instead of one sleep per tick.
    static let minimumSleep = Duration.milliseconds(1)

    /// `duration` in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    /// Sleeps until `deadline`; false when the task was cancelled.
    static func sleep(until deadline: ContinuousClock.Instant) async -> Bool {
        do {
            try await Task.sleep(until: deadline, clock: ContinuousClock())
            return true
        } catch {
            return false
        }
    }
}

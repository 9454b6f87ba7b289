import DeskCore
import Foundation
import ServiceLifecycle
import Synchronization

/// The embedded paper broker as a venue: fills orders against the desk's prices
/// (it listens to the `PriceBook`: the market data feed, or prices an admin
/// pushes), by the rules of `PaperBook`. Needs no keys and no network. It
/// decides in this process, so an order and its fills are journaled in one
/// transaction (`journaling == .withDecision`).
///
/// Every decision takes its time from `clock` (a backtest passes a simulated one).
public final class PaperVenue: Venue, Sendable {
    /// A paper venue's settings: how it fills. A `venues` entry `{"broker": "paper"}` has no keys of its own.
    public struct Settings: VenueSettings, Equatable {
        public static let kind = VenueKind.paper
        /// Which price a new order first meets.
        public var fills: PaperBook.FillModel
        /// Slippage of market fills, in basis points.
        public var slippageBps: Decimal

        /// Same-tick fills without slippage unless told otherwise.
        public init(fills: PaperBook.FillModel = .sameTick, slippageBps: Decimal = 0) {
            self.fills = fills
            self.slippageBps = slippageBps
        }

        /// The entry has no keys of its own to read.
        public init(from decoder: any Decoder) throws { self.init() }

        public func makeVenue(name: String, context: VenueContext) -> any Venue {
            PaperVenue(name: name, prices: context.prices, clock: context.clock, settings: self)
        }
    }

    public let name: String
    public let kind = VenueKind.paper
    /// The paper broker fills at any hour and expires day orders when the desk says the session closed.
    public let capabilities: VenueCapabilities = []
    public let orderRules: OrderRules
    public let journaling = VenueJournaling.withDecision
    public let updates: AsyncStream<OrderUpdate>
    public var service: (any Service)? { nil }
    /// The paper book is the ledger itself: nothing to reconcile.
    public var reconciling: (any ReconcilingVenue)? { nil }
    private let continuation: AsyncStream<OrderUpdate>.Continuation
    private let book: Mutex<PaperBook>
    private let clock: any DeskClock
    private let prices: PriceBook

    /// A paper venue named `name` with no working orders, filling at the trades
    /// `prices` is told from now on.
    public init(
        name: String = "paper", prices: PriceBook = PriceBook(), orderRules: OrderRules = OrderRules(),
        clock: any DeskClock = WallClock(), settings: Settings = Settings()
    ) {
        self.name = name
        self.orderRules = orderRules
        self.clock = clock
        self.prices = prices
        book = Mutex(PaperBook(fills: settings.fills, slippageBps: settings.slippageBps))
        (updates, continuation) = AsyncStream.makeStream(of: OrderUpdate.self)
        prices.onLine { [weak self] line in self?.fill(line) }
    }

    public nonisolated(nonsending) func submit(_ order: Order, resubmission: Bool) async throws(BrokerError)
        -> [OrderUpdate]
    {
        let now = clock.now()
        return try book.withLock { $0.submit(order, now: now) }.get()
    }

    public nonisolated(nonsending) func cancel(orderId: String) async throws(BrokerError) -> [OrderUpdate] {
        let now = clock.now()
        return try book.withLock { $0.cancel(orderId: orderId, now: now) }.get()
    }

    /// Replaces a working order by the rules of ``PaperBook/replace(orderId:with:now:)``.
    public nonisolated(nonsending) func replace(orderId: String, with order: Order) async throws(BrokerError)
        -> [OrderUpdate]
    {
        let now = clock.now()
        return try book.withLock { $0.replace(orderId: orderId, with: order, now: now) }.get()
    }

    /// A working trailing stop's mark (`PaperBook.trailingMark`).
    public func highWaterMark(orderId: String) -> Decimal? {
        book.withLock { $0.trailingMark(of: orderId) }
    }

    public func forget(orderId: String) {
        book.withLock { $0.forget(orderId: orderId) }
    }

    public nonisolated(nonsending) func restore(_ openOrders: [WorkingOrder]) async throws(BrokerError) -> [OrderUpdate]
    {
        book.withLock { $0.restore(openOrders) }
        return []
    }

    /// A line the price book was told: the fills it causes are sent on `updates`.
    private func fill(_ line: PriceBook.Line) {
        for update in book.withLock({ $0.line(line, now: line.at) }) {
            continuation.yield(update)
        }
    }

    /// A line of market data (a trade, or a quote alone), recorded in the price
    /// book, returning the fills it causes instead of sending them on `updates`:
    /// for a backtest, which books them before anyone sees the next line.
    public func line(_ line: PriceBook.Line) -> [OrderUpdate] {
        prices.record(line)
        return book.withLock { $0.line(line, now: line.at) }
    }

    /// Expires every working day order (called at the session close).
    public func closeSession(at: Date) {
        for update in expireDayOrders(at: at) { continuation.yield(update) }
    }

    /// The session closed: returns the expiries instead of sending them (backtests).
    public func expireDayOrders(at: Date) -> [OrderUpdate] {
        book.withLock { $0.closeSession(now: at) }
    }

    public func finish() { continuation.finish() }
}

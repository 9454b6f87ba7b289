import DeskCore
import Foundation
import ServiceLifecycle
import Synchronization

/// The embedded broker: fills orders against the prices it is fed (the market
/// data feed, or prices an admin pushes), by the rules of `PaperBook`. Needs no
/// keys and no network. It decides in this process, so an order and its fills
/// are journaled in one transaction (`journaling == .withDecision`).
///
/// Every decision takes its time from `clock` (a backtest passes a simulated one).
public final class PaperBroker: Broker, Sendable {
    public let name = "paper"
    public let orderRules: OrderRules
    public let journaling = BrokerJournaling.withDecision
    public let updates: AsyncStream<OrderUpdate>
    public let expiresDayOrdersItself = false
    public var service: (any Service)? { nil }
    public var reconciling: (any ReconcilingBroker)? { nil }
    private let continuation: AsyncStream<OrderUpdate>.Continuation
    private let book: Mutex<PaperBook>
    private let clock: any DeskClock

    /// A paper broker with no prices yet; `fills` and `slippageBps` as `PaperBook` has them.
    public init(
        orderRules: OrderRules = OrderRules(), clock: any DeskClock = WallClock(),
        fills: PaperBook.FillModel = .sameTick, slippageBps: Decimal = 0
    ) {
        self.orderRules = orderRules
        self.clock = clock
        book = Mutex(PaperBook(fills: fills, slippageBps: slippageBps))
        (updates, continuation) = AsyncStream.makeStream(of: OrderUpdate.self)
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

    public func forget(orderId: String) {
        book.withLock { $0.forget(orderId: orderId) }
    }

    public nonisolated(nonsending) func restore(_ openOrders: [WorkingOrder]) async throws(BrokerError) -> [OrderUpdate]
    {
        book.withLock { $0.restore(openOrders) }
        return []
    }

    public func lastPrice(_ symbol: String) -> Decimal? {
        book.withLock { $0.quotes[symbol]?.price }
    }

    /// A trade price from the feed (or an admin). Fills that it causes are sent on `updates`.
    public func observe(symbol: String, price: Decimal, size: Decimal?, at: Date) {
        for update in trade(symbol: symbol, price: price, size: size, at: at) { continuation.yield(update) }
    }

    /// A trade price, returning the fills it causes instead of sending them on
    /// `updates`: for a backtest, which books them before anyone sees the next tick.
    public func trade(symbol: String, price: Decimal, size: Decimal?, at: Date) -> [OrderUpdate] {
        book.withLock { $0.price(symbol: symbol, price: price, size: size, now: at) }
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

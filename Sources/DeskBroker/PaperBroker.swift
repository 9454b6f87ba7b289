import DeskCore
import Foundation
import Synchronization

/// The embedded broker: fills orders against the prices it is fed (the market
/// data feed, or prices an admin pushes), by the rules of `PaperBook`. Needs no
/// keys and no network.
public final class PaperBroker: Broker, Sendable {
    public let name = "paper"
    public let orderRules: OrderRules
    public let updates: AsyncStream<BrokerUpdate>
    private let continuation: AsyncStream<BrokerUpdate>.Continuation
    private let book = Mutex(PaperBook())

    public init(orderRules: OrderRules = OrderRules()) {
        self.orderRules = orderRules
        (updates, continuation) = AsyncStream.makeStream(of: BrokerUpdate.self)
    }

    public func submit(_ order: BrokerOrder) async throws(BrokerError) -> [BrokerUpdate] {
        try book.withLock { $0.submit(order, now: Date()) }.get()
    }

    public func cancel(orderId: String) async throws(BrokerError) -> [BrokerUpdate] {
        try book.withLock { $0.cancel(orderId: orderId, now: Date()) }.get()
    }

    public func restore(_ openOrders: [BrokerOrder]) async throws(BrokerError) -> [BrokerUpdate] {
        book.withLock { $0.restore(openOrders) }
        return []
    }

    public func lastPrice(_ symbol: String) -> Decimal? {
        book.withLock { $0.quotes[symbol]?.price }
    }

    /// A trade price from the feed (or an admin). Fills that it causes are sent on `updates`.
    public func price(symbol: String, price: Decimal, size: Decimal? = nil, at: Date = Date()) {
        let fills = book.withLock { $0.price(symbol: symbol, price: price, size: size, now: at) }
        for update in fills { continuation.yield(update) }
    }

    /// Expires every working day order (called at the session close).
    public func closeSession(at: Date = Date()) {
        let expired = book.withLock { $0.closeSession(now: at) }
        for update in expired { continuation.yield(update) }
    }

    /// Ends the `updates` stream.
    public func finish() { continuation.finish() }
}

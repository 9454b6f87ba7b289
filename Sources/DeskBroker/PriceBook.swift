import Foundation
import Synchronization

/// The desk's last trade price of each symbol, shared by every venue: the feed
/// (or an admin) reports trades here; admission values orders with them, the
/// page and the P&L value positions with them, and paper venues, which listen,
/// fill their resting orders at them.
public final class PriceBook: Sendable {
    /// A trade as the feed reported it.
    public struct Trade: Sendable, Equatable {
        public var symbol: String
        public var price: Decimal
        public var size: Decimal?
        public var at: Date

        /// A trade of `size` (nil: not known) at `price`.
        public init(symbol: String, price: Decimal, size: Decimal?, at: Date) {
            self.symbol = symbol
            self.price = price
            self.size = size
            self.at = at
        }
    }

    private struct State {
        var prices: [String: Decimal] = [:]
        var listeners: [@Sendable (Trade) -> Void] = []
    }

    private let state = Mutex(State())

    /// An empty book.
    public init() {}

    /// The last known trade price of `symbol`.
    public func lastPrice(_ symbol: String) -> Decimal? {
        state.withLock { $0.prices[symbol] }
    }

    /// A trade from the desk's feed (or an admin): recorded, then told to every listener.
    public func observe(_ trade: Trade) {
        let listeners = state.withLock { state in
            state.prices[trade.symbol] = trade.price
            return state.listeners
        }
        for listener in listeners { listener(trade) }
    }

    /// Records a trade price without telling the listeners (a backtest, which
    /// hands the trade to its paper venue itself to book the fills first).
    public func record(_ trade: Trade) {
        state.withLock { $0.prices[trade.symbol] = trade.price }
    }

    /// Calls `listener` with every trade `observe` is told from now on (outside the book's lock).
    public func onTrade(_ listener: @escaping @Sendable (Trade) -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }
}

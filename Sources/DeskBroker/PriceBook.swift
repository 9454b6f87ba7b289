import DeskCore
import Foundation
import Synchronization

/// The desk's last prices and quotes of each symbol, shared by every venue: the
/// feed (or an admin) reports each line here; admission values orders with them,
/// the page and the P&L value positions with them, and paper venues, which
/// listen, fill their working orders on them.
///
/// `lastPrice` is the price of the symbol's last line: a trade's price, or a
/// quote-only line's midpoint (so a feed of quotes alone still marks positions, as
/// the desk's Alpaca quote stream always has). `quote` is the last bid and ask
/// seen; `marketPrice` is what a market order would pay: the ask for a buy, the
/// bid for a sell, the last price when that side is not quoted.
public final class PriceBook: Sendable {
    /// A best bid and ask with the shares offered at each, any of them unknown.
    public struct Quote: Sendable, Equatable {
        public var bid: Decimal?
        public var ask: Decimal?
        public var bidSize: Decimal?
        public var askSize: Decimal?

        /// A quote as the feed gave it.
        public init(bid: Decimal?, ask: Decimal?, bidSize: Decimal? = nil, askSize: Decimal? = nil) {
            self.bid = bid
            self.ask = ask
            self.bidSize = bidSize
            self.askSize = askSize
        }

        /// The price an order on `side` meets: the ask for a buy, the bid for a sell.
        public func price(_ side: Side) -> Decimal? { side == .buy ? ask : bid }
        /// The shares quoted on that side, when known.
        public func size(_ side: Side) -> Decimal? { side == .buy ? askSize : bidSize }
    }

    /// One line of the feed as the market sees it: a trade (with the quote the
    /// line carries, if any), or a quote alone (`isTrade` false; `price` its midpoint).
    public struct Line: Sendable, Equatable {
        public var symbol: String
        /// The trade's price, or a quote-only line's midpoint.
        public var price: Decimal
        /// The trade's size, when known.
        public var size: Decimal?
        public var at: Date
        /// The quote the line carries (nil: it carries none; the last one stands).
        public var quote: Quote?
        /// False for a quote-only line (`"type": "quote"`): nothing traded.
        public var isTrade: Bool

        /// A line of `size` (nil: not known) at `price`; a trade without a quote unless told otherwise.
        public init(
            symbol: String, price: Decimal, size: Decimal?, at: Date, quote: Quote? = nil, isTrade: Bool = true
        ) {
            self.symbol = symbol
            self.price = price
            self.size = size
            self.at = at
            self.quote = quote
            self.isTrade = isTrade
        }
    }

    private struct State {
        var prices: [String: Decimal] = [:]
        var quotes: [String: Quote] = [:]
        var listeners: [@Sendable (Line) -> Void] = []

        mutating func record(_ line: Line) {
            prices[line.symbol] = line.price
            if let quote = line.quote { quotes[line.symbol] = quote }
        }
    }

    private let state = Mutex(State())

    /// An empty book.
    public init() {}

    /// The price of `symbol`'s last line (a trade's price or a quote's midpoint).
    public func lastPrice(_ symbol: String) -> Decimal? {
        state.withLock { $0.prices[symbol] }
    }

    /// The last quote seen for `symbol`.
    public func quote(_ symbol: String) -> Quote? {
        state.withLock { $0.quotes[symbol] }
    }

    /// What an order on `side` would fill at now: the ask for a buy, the bid for a
    /// sell, else (that side not quoted, or no side given) the last price.
    public func marketPrice(_ symbol: String, side: Side?) -> Decimal? {
        state.withLock { state in
            side.flatMap { state.quotes[symbol]?.price($0) } ?? state.prices[symbol]
        }
    }

    /// A line from the desk's feed (or an admin): recorded, then told to every listener.
    public func observe(_ line: Line) {
        let listeners = state.withLock { state in
            state.record(line)
            return state.listeners
        }
        for listener in listeners { listener(line) }
    }

    /// Records a line without telling the listeners (a backtest, which hands the
    /// line to its paper venue itself to book the fills first).
    public func record(_ line: Line) {
        state.withLock { $0.record(line) }
    }

    /// Calls `listener` with every line `observe` is told from now on (outside the book's lock).
    public func onLine(_ listener: @escaping @Sendable (Line) -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }
}

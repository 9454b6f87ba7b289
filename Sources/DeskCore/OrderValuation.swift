import Foundation

/// The price admission values an order at — for `max_order_notional`, for buying
/// power, and for what the order reserves while it is open: the highest price it
/// can fill at, as far as the desk can tell when the order arrives. For a buy that
/// is what it can cost; for a sell, the largest notional and the largest short it
/// can open. Pure: the same terms and last price always give the same answer.
///
/// | order | buy | sell |
/// | --- | --- | --- |
/// | market | the last price | the last price |
/// | limit | its limit (it fills at the limit or below) | the higher of its limit and the last price (it fills at the limit or above) |
/// | stop | the higher of its stop and the last price (triggered, it fills at the market) | the lower of its stop and the last price (it fills at the stop or below, or at once at the market) |
/// | stop_limit | its limit | the higher of its limit and where it triggers (the lower of its stop and the last price) |
/// | trailing_stop | the last price | the last price |
///
/// Without a last price, an order that can fill at any price above what it names
/// (a market order, a buy stop, a sell limit) cannot be valued: admission refuses
/// it where a limit needs the value. A triggered stop or a resting sell limit can
/// still fill beyond its valuation when the market gaps, as a market order can
/// when the price moves: the valuation is the worst case at the last price known.
public enum OrderValuation: Sendable, Equatable {
    /// Valued at `price`; `basis` says which price that is, for messages
    /// (`its limit`, `the last price, above its stop 0.01`).
    case price(Decimal, basis: String)
    /// No price bounds it: why, for a refusal (`no price is known for AAPL yet, and …`).
    case unbounded(String)

    /// The valuation of `order` when `lastPrice` is the symbol's last price (nil: none known yet).
    public init(_ order: OrderTerms, lastPrice: Decimal?) {
        let plain = ExactDecimal.plain
        let limit = order.limitPrice
        let stop = order.stopPrice
        switch (order.type, order.side) {
        case (.limit, .buy), (.stopLimit, .buy):
            self = .price(limit ?? 0, basis: "its limit")
        case (.market, _):
            self = Self.atMarket(lastPrice, order, "a market order fills at whatever the market is")
        case (.trailingStop, _):
            // Triggered, it fills at the market: valued like a market order at the last price.
            self = Self.atMarket(lastPrice, order, "a trailing stop fills at the market once it triggers")
        case (.stop, .buy):
            let stop = stop ?? 0
            guard let lastPrice else {
                self = Self.atMarket(
                    nil, order, "a buy stop fills at the market once it reaches its stop, at or above it")
                return
            }
            self =
                lastPrice > stop
                ? .price(lastPrice, basis: "the last price, above its stop \(plain(stop))")
                : .price(stop, basis: "its stop")
        case (.limit, .sell):
            let limit = limit ?? 0
            guard let lastPrice else {
                self = Self.atMarket(nil, order, "a sell limit fills at its limit or any price above it")
                return
            }
            self =
                lastPrice > limit
                ? .price(lastPrice, basis: "the last price, above its limit \(plain(limit))")
                : .price(limit, basis: "its limit")
        case (.stop, .sell):
            let stop = stop ?? 0
            if let lastPrice, lastPrice < stop {
                self = .price(lastPrice, basis: "the last price, below its stop \(plain(stop))")
            } else {
                self = .price(stop, basis: "its stop")
            }
        case (.stopLimit, .sell):
            let (limit, stop) = (limit ?? 0, stop ?? 0)
            let trigger = lastPrice.map { min($0, stop) } ?? stop
            if limit >= trigger {
                self = .price(limit, basis: "its limit")
            } else if trigger == stop {
                self = .price(stop, basis: "its stop, above its limit \(plain(limit))")
            } else {
                self = .price(trigger, basis: "the last price, above its limit \(plain(limit))")
            }
        }
    }

    private static func atMarket(_ lastPrice: Decimal?, _ order: OrderTerms, _ why: String) -> OrderValuation {
        if let lastPrice { return .price(lastPrice, basis: "the last price") }
        let advice =
            order.side == .sell
            ? "wait until the desk has a price for \(order.symbol)"
            : order.type == .stop ? "send a stop-limit order" : "send a limit order"
        return .unbounded("no price is known for \(order.symbol) yet, and \(why); \(advice)")
    }

    /// The price, or nil when the order cannot be valued.
    public var price: Decimal? {
        if case .price(let price, _) = self { return price }
        return nil
    }
}

import DeskCore
import Foundation

/// One fill of a strategy on one venue, as its promotion record counts it.
public struct RecordedFill: Sendable, Equatable {
    public var symbol: String
    public var side: Side
    public var qty: Decimal
    public var price: Decimal
    public var at: Date

    /// A fill as given.
    public init(symbol: String, side: Side, qty: Decimal, price: Decimal, at: Date) {
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.at = at
    }
}

/// A strategy's record on one venue, from its own orders and fills there: what
/// an officer judges a promotion on. Pure: the ledger's rows and the last
/// prices come in, `PromotionEvidence` comes out, every figure an exact decimal
/// (the Sharpe ratio rounded to four places).
public struct StrategyRecord: Sendable {
    /// The venue the record was made on.
    public var venue: String
    /// When each of the strategy's orders there was placed.
    public var orderTimes: [Date]
    /// Its fills there, in the order they were booked.
    public var fills: [RecordedFill]
    /// Days are counted in this calendar's time zone (UTC unless told).
    public var calendar: Calendar

    /// A record of `orderTimes` and `fills` on `venue`.
    public init(venue: String, orderTimes: [Date], fills: [RecordedFill], timeZone: TimeZone = .gmt) {
        self.venue = venue
        self.orderTimes = orderTimes
        self.fills = fills
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// The evidence at `now`, open positions valued at `lastPrice` (a symbol without one at its last fill's price).
    public func evidence(now: Date, lastPrice: (String) -> Decimal?, backtest: String? = nil) -> PromotionEvidence {
        var positions: [String: Position] = [:]
        var marks: [String: Decimal] = [:]
        var peak: Decimal = 0
        var maxDrawdown: Decimal = 0
        var dayClose: [Decimal] = []
        var day: Date?
        func equity() -> Decimal {
            positions.reduce(0) { $0 + $1.value.realizedPnL + $1.value.unrealizedPnL(at: marks[$1.key] ?? 0) }
        }
        func note(_ value: Decimal) {
            peak = max(peak, value)
            maxDrawdown = max(maxDrawdown, peak - value)
        }
        for fill in fills {
            let fillDay = calendar.startOfDay(for: fill.at)
            if let day, day != fillDay { dayClose.append(equity()) }
            day = fillDay
            positions[fill.symbol, default: Position()].apply(side: fill.side, qty: fill.qty, price: fill.price)
            marks[fill.symbol] = fill.price
            note(equity())
        }
        for symbol in positions.keys { marks[symbol] = lastPrice(symbol) ?? marks[symbol] }
        let pnl = equity()
        note(pnl)
        if day != nil { dayClose.append(pnl) }
        let daily = zip(dayClose, [0] + dayClose).map { $0 - $1 }
        let first = orderTimes.min() ?? fills.first?.at
        let days =
            first.map {
                calendar.dateComponents([.day], from: calendar.startOfDay(for: $0), to: calendar.startOfDay(for: now))
                    .day ?? 0
            } ?? 0
        return PromotionEvidence(
            venue: venue, days: max(0, days), orders: orderTimes.count, fills: fills.count, pnl: pnl,
            maxDrawdown: maxDrawdown, sharpe: Self.sharpe(daily), backtest: backtest)
    }

    /// Annualized Sharpe ratio of daily P&L: mean over sample standard deviation, × √252,
    /// to four places; nil with fewer than two days or no variation.
    public static func sharpe(_ daily: [Decimal]) -> Decimal? {
        guard daily.count >= 2 else { return nil }
        let count = Decimal(daily.count)
        let mean = daily.reduce(0, +) / count
        let variance = daily.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (count - 1)
        guard variance > 0, let deviation = squareRoot(variance), let annual = squareRoot(252) else { return nil }
        return ExactDecimal.rounded(mean / deviation * annual, scale: 4, rounding: .halfAwayFromZero)
    }

    /// √`value` by Newton's method in decimal arithmetic (nil for a negative value).
    static func squareRoot(_ value: Decimal) -> Decimal? {
        guard value >= 0 else { return nil }
        if value == 0 { return 0 }
        var root = Decimal(NSDecimalNumber(decimal: value).doubleValue.squareRoot())
        if root <= 0 { root = value }
        for _ in 0..<8 { root = (root + value / root) / 2 }
        return root
    }

}

import DeskCore
import Foundation

/// Follows a backtest's money as it happens — every tick's price, every fill,
/// every order — and keeps, per member and per strategy, what the report needs:
/// positions and P&L with the ledger's own arithmetic (`Position`), equity and its
/// drawdown at every price change, closing equity per trading day, round trips,
/// time exposed and notional traded. Pure: time comes from the ticks and fills.
public struct PerformanceTracker: Sendable {
    /// Whose money: a member's total, or one of their strategies.
    public struct Account: Hashable, Sendable, Comparable {
        public var member: String
        /// nil: the member's total over all strategies.
        public var strategy: String?

        public init(member: String, strategy: String? = nil) {
            self.member = member
            self.strategy = strategy
        }

        public static func < (left: Account, right: Account) -> Bool {
            (left.member, left.strategy ?? "") < (right.member, right.strategy ?? "")
        }
    }

    /// One account's running figures.
    public struct Book: Sendable, Equatable {
        public var positions: [String: Position] = [:]
        public var commission: Decimal = 0
        /// Σ unrealized P&L at the last prices, kept as prices move.
        public var unrealized: Decimal = 0
        public var orders = 0
        public var fills = 0
        public var rejected = 0
        public var tradedNotional: Decimal = 0
        public var peakEquity: Decimal
        public var maxDrawdown: Decimal = 0
        public var roundTrips = 0
        public var winningRoundTrips = 0
        /// Realized P&L minus commission when each symbol's current trip opened.
        var tripStart: [String: Decimal] = [:]
        /// Closing equity of each trading day, in order.
        public var dailyEquity: [Decimal] = []
        /// Equity at each fill and each day's close, for the chart.
        public var samples: [(at: Date, equity: Decimal)] = []
        /// Time with any position open.
        public var exposedSeconds: Double = 0
        var exposedSince: Date?

        init(capital: Decimal) { peakEquity = capital }

        public var realized: Decimal { positions.values.reduce(0) { $0 + $1.realizedPnL } }
        /// capital + total P&L.
        func equity(capital: Decimal) -> Decimal { capital + totalPnL }
        /// Realized and unrealized P&L, after commission.
        public var totalPnL: Decimal { realized + unrealized - commission }
        var isFlat: Bool { positions.values.allSatisfy { $0.qty == 0 } }

        /// Equity now, at `at`: a sample for the chart, and the peak and drawdown it makes.
        mutating func noteEquity(capital: Decimal, at: Date) {
            let equity = equity(capital: capital)
            if equity > peakEquity { peakEquity = equity }
            if peakEquity - equity > maxDrawdown { maxDrawdown = peakEquity - equity }
            samples.append((at, equity))
        }

        public static func == (left: Book, right: Book) -> Bool {
            left.positions == right.positions && left.commission == right.commission
                && left.unrealized == right.unrealized && left.orders == right.orders && left.fills == right.fills
                && left.rejected == right.rejected && left.maxDrawdown == right.maxDrawdown
                && left.dailyEquity == right.dailyEquity
        }
    }

    /// Capital each member starts with (the base of equity and returns).
    public let capital: Decimal
    /// Trading days are counted in this time zone (the session's).
    public let calendar: Calendar
    public private(set) var books: [Account: Book] = [:]
    public private(set) var prices: [String: Decimal] = [:]
    public private(set) var ticks = 0
    public private(set) var first: Date?
    public private(set) var last: Date?
    private var holders: [String: Set<Account>] = [:]
    /// The trading date of the last tick or fill, in `calendar`'s time zone.
    private var day: Range<Date>?

    public init(capital: Decimal, timeZone: TimeZone = TimeZone(identifier: "America/New_York")!) {
        self.capital = capital
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// Makes an account known (so a strategy that never trades still has a row).
    public mutating func open(member: String, strategy: String) {
        for account in [Account(member: member), Account(member: member, strategy: strategy)]
        where books[account] == nil {
            books[account] = Book(capital: capital)
        }
    }

    /// An order the strategy placed; `rejected` when the desk or the broker refused it.
    public mutating func order(member: String, strategy: String, rejected: Bool) {
        open(member: member, strategy: strategy)
        for account in [Account(member: member), Account(member: member, strategy: strategy)] {
            books[account]!.orders += 1
            if rejected { books[account]!.rejected += 1 }
        }
    }

    /// A split or dividend, applied as the ledger applies it: each holder's position changes
    /// (`CorporateAction.effect`), and a split moves the symbol's mark by its ratio, so a
    /// split changes no one's equity; a dividend adds its cash to realized P&L.
    public mutating func corporateAction(_ action: CorporateAction, at: Date) {
        advance(to: at)
        let last = prices[action.symbol]
        let mark = last.map(action.adjustedPrice)
        let cashInLieuPrice: Decimal? = if case .split = action.kind { mark } else { nil }
        for account in holders[action.symbol] ?? [] {
            let position = books[account]!.positions[action.symbol] ?? Position()
            let effect = action.effect(on: position, price: cashInLieuPrice)
            books[account]!.positions[action.symbol] = effect.after
            books[account]!.unrealized +=
                effect.after.unrealizedPnL(at: mark ?? 0) - position.unrealizedPnL(at: last ?? 0)
            if effect.after.qty == 0 { holders[action.symbol]?.remove(account) }
            books[account]!.noteEquity(capital: capital, at: at)
        }
        if let mark { prices[action.symbol] = mark }
    }

    /// A trade price: marks every position in `symbol`.
    public mutating func tick(symbol: String, price: Decimal, at: Date) {
        advance(to: at)
        ticks += 1
        let previous = prices[symbol]
        prices[symbol] = price
        guard let previous, previous != price, let accounts = holders[symbol] else { return }
        for account in accounts {
            // In place: `books[account]!` is mutated where it is, never copied out (with its samples).
            let qty = books[account]!.positions[symbol]?.qty ?? 0
            books[account]!.unrealized += qty * (price - previous)
            books[account]!.noteEquity(capital: capital, at: at)
        }
    }

    /// A fill, booked as the ledger books it, with its commission.
    public mutating func fill(
        member: String, strategy: String, symbol: String, side: Side, qty: Decimal, price: Decimal,
        commission: Decimal = 0, at: Date
    ) {
        advance(to: at)
        open(member: member, strategy: strategy)
        if prices[symbol] == nil { prices[symbol] = price }
        let mark = prices[symbol]!
        for account in [Account(member: member), Account(member: member, strategy: strategy)] {
            // In place (`books[account]!` as inout): a copy of the book would copy its
            // samples at every fill, which made the report O(fills × ticks).
            let position = Self.book(
                &books[account]!, symbol: symbol, side: side, qty: qty, price: price, commission: commission,
                mark: mark, at: at)
            if position.qty == 0 {
                holders[symbol]?.remove(account)
            } else {
                holders[symbol, default: []].insert(account)
            }
            books[account]!.noteEquity(capital: capital, at: at)
        }
    }

    /// One fill into one account's book; returns the symbol's position after it.
    private static func book(
        _ book: inout Book, symbol: String, side: Side, qty: Decimal, price: Decimal, commission: Decimal,
        mark: Decimal, at: Date
    ) -> Position {
        var position = book.positions[symbol] ?? Position()
        let wasFlat = position.qty == 0
        let before = position.unrealizedPnL(at: mark)
        if wasFlat { book.tripStart[symbol] = position.realizedPnL - book.commission }
        let heldBefore = position.qty
        position.apply(side: side, qty: qty, price: price)
        book.commission += commission
        book.unrealized += position.unrealizedPnL(at: mark) - before
        book.positions[symbol] = position
        book.fills += 1
        book.tradedNotional += qty * price
        let crossed = heldBefore != 0 && (position.qty == 0 || (heldBefore > 0) != (position.qty > 0))
        if crossed {
            let trip = position.realizedPnL - book.commission - (book.tripStart[symbol] ?? 0)
            book.roundTrips += 1
            if trip > 0 { book.winningRoundTrips += 1 }
            book.tripStart[symbol] = position.qty == 0 ? nil : position.realizedPnL - book.commission
        }
        if book.isFlat, let since = book.exposedSince {
            book.exposedSeconds += at.timeIntervalSince(since)
            book.exposedSince = nil
        } else if !book.isFlat && book.exposedSince == nil {
            book.exposedSince = at
        }
        return position
    }

    /// Ends the run: the last day's close and the open exposure are counted.
    public mutating func finish() {
        closeDay()
        guard let last else { return }
        for account in books.keys {
            if let since = books[account]!.exposedSince {
                books[account]!.exposedSeconds += last.timeIntervalSince(since)
                books[account]!.exposedSince = last
            }
        }
    }

    private mutating func advance(to at: Date) {
        if first == nil { first = at }
        // The calendar is asked once a day, not at every tick.
        if let day, day.contains(at) {
            last = at
            return
        }
        if day != nil { closeDay() }
        let interval = calendar.dateInterval(of: .day, for: at)!
        day = interval.start..<interval.end
        last = at
    }

    private mutating func closeDay() {
        guard let last else { return }
        for account in books.keys {
            let equity = books[account]!.equity(capital: capital)
            books[account]!.dailyEquity.append(equity)
            books[account]!.samples.append((last, equity))
        }
    }
}

import DeskCore
import DeskIdentity
import DeskLedger
import Foundation

/// Why a portfolio read was refused; each face words and codes it its own way.
public enum PortfolioRefusal: Error, Sendable, Equatable {
    /// A member asked for another member's figures (only an admin reads anyone's).
    case otherMember(requested: String)
    /// No order with this id among the caller's orders (an admin's: among everyone's).
    case orderNotFound(id: String)
    /// A figure only an admin sees (the leaderboard).
    case adminOnly
}

/// Whose figures a read shows: the rule every face (the JSON API, `/v2`, the
/// page, the CLI) follows. Pure.
public enum ReadScope {
    /// The member a listing shows, nil meaning everyone: a member's own, always;
    /// an admin's, the member asked for or everyone.
    public static func listing(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String? {
        if caller.isAdmin { return requested }
        if let requested, requested != caller.member { throw .otherMember(requested: requested) }
        return caller.member
    }

    /// The one member a statement is about: the member asked for (an admin may ask for anyone), else the caller.
    public static func member(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String {
        try listing(requested: requested, caller: caller) ?? caller.member
    }

    /// Whether `caller` may see an order that belongs to `owner`.
    public static func mayRead(orderOf owner: String, caller: Caller) -> Bool {
        caller.isAdmin || owner == caller.member
    }
}

/// A position with the last price the desk saw for its symbol (nil: none yet).
public struct Holding: Sendable, Equatable {
    public var record: PositionRecord
    public var lastPrice: Decimal?

    public init(record: PositionRecord, lastPrice: Decimal?) {
        self.record = record
        self.lastPrice = lastPrice
    }
}

/// A position that is not flat, and how much of it open orders already claim.
public struct OpenPosition: Sendable, Equatable {
    public var holding: Holding
    /// What is still to fill of the open orders on the side that closes the position.
    public var heldForOrders: Decimal

    public init(holding: Holding, heldForOrders: Decimal) {
        self.holding = holding
        self.heldForOrders = heldForOrders
    }

    /// What is still to fill of `open` orders in `position`'s symbol on its closing side (pure).
    public static func held(by open: [OrderRecord], of position: PositionRecord) -> Decimal {
        let closingSide: Side = position.qty > 0 ? .sell : .buy
        return open.filter { $0.symbol == position.symbol && $0.side == closingSide }
            .reduce(Decimal(0)) { $0 + $1.qty - $1.filledQty }
    }
}

/// A member's account: their positions and how many of their orders are open.
public struct AccountFigures: Sendable, Equatable {
    public var member: String
    public var positions: [PositionRecord]
    public var openOrders: Int
}

/// Positions valued at the last known prices: a position with no price yet counts at cost.
public struct AccountValuation: Sendable, Equatable {
    /// Cost of what is held less the P&L already realized.
    public var cashUsed: Decimal
    public var marketValue: Decimal
    public var realizedPnL: Decimal
    public var unrealizedPnL: Decimal
    /// Positions that are not flat.
    public var openPositions: Int

    /// Realized plus unrealized.
    public var totalPnL: Decimal { realizedPnL + unrealizedPnL }

    /// Sums `positions` at `lastPrice` (at cost where none is known).
    public init(positions: [PositionRecord], lastPrice: (String) -> Decimal?) {
        var cost: Decimal = 0
        var value: Decimal = 0
        var realized: Decimal = 0
        var unrealized: Decimal = 0
        for record in positions {
            let position = record.position
            cost += position.costBasis
            realized += position.realizedPnL
            if let price = lastPrice(record.symbol) {
                value += position.marketValue(at: price)
                unrealized += position.unrealizedPnL(at: price)
            } else {
                value += position.costBasis
            }
        }
        cashUsed = cost - realized
        marketValue = value
        realizedPnL = realized
        unrealizedPnL = unrealized
        openPositions = positions.filter { $0.qty != 0 }.count
    }
}

/// One member's line on the leaderboard.
public struct Standing: Sendable, Equatable {
    public var member: String
    public var positions: [PositionRecord]
    /// The member's equity over the last day (their whole book).
    public var curve: EquityCurve
}

/// The portfolio and P&L reads: positions, the account, orders and fills, the
/// equity history and the leaderboard. Each takes the caller and answers with
/// what that caller may see, or throws a `PortfolioRefusal` (ledger failures
/// are thrown as they are).
public struct Portfolio: Sendable {
    let ledger: Ledger
    /// The last price of a symbol, as the desk last saw it.
    public let lastPrice: @Sendable (String) -> Decimal?
    /// Equity samples and histories over the same ledger and prices.
    public let equity: EquityBook

    /// Reads over `ledger`, valued at `lastPrice`.
    public init(ledger: Ledger, lastPrice: @escaping @Sendable (String) -> Decimal?) {
        self.ledger = ledger
        self.lastPrice = lastPrice
        equity = EquityBook(ledger: ledger, lastPrice: lastPrice)
    }

    /// Reads straight from an existing ledger file (`desk orders`, `desk positions`):
    /// nothing is created, and a missing file is an error naming the path tried.
    public static func reading(
        ledgerAt path: String, lastPrice: @escaping @Sendable (String) -> Decimal? = { _ in nil }
    )
        throws -> Portfolio
    {
        Portfolio(ledger: try Ledger(readingExisting: path), lastPrice: lastPrice)
    }

    /// The same reads, valued at other prices (those a running desk gave the CLI).
    public func valued(at lastPrice: @escaping @Sendable (String) -> Decimal?) -> Portfolio {
        Portfolio(ledger: ledger, lastPrice: lastPrice)
    }

    /// Positions of the member asked for (nil: everyone, for an admin), one row per
    /// member and symbol, or per strategy too when `byStrategy`.
    public func positions(for caller: Caller, member: String?, byStrategy: Bool) async throws -> [Holding] {
        let scope = try ReadScope.listing(requested: member, caller: caller)
        return try await ledger.positions(member: scope, byStrategy: byStrategy).map {
            Holding(record: $0, lastPrice: lastPrice($0.symbol))
        }
    }

    /// The account of the member asked for (default: the caller).
    public func account(for caller: Caller, member: String?) async throws -> AccountFigures {
        let member = try ReadScope.member(requested: member, caller: caller)
        let positions = try await ledger.positions(member: member)
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit))
        return AccountFigures(member: member, positions: positions, openOrders: open.count)
    }

    /// Orders matching `query`, newest first, limited to what the caller may see.
    public func orders(for caller: Caller, _ query: OrderQuery) async throws -> [OrderRecord] {
        var query = query
        query.member = try ReadScope.listing(requested: query.member, caller: caller)
        return try await ledger.orders(query)
    }

    /// How many orders match `query` in all (a listing says when its limit left some out).
    public func orderCount(for caller: Caller, _ query: OrderQuery) async throws -> Int {
        var query = query
        query.member = try ReadScope.listing(requested: query.member, caller: caller)
        return try await ledger.countOrders(query)
    }

    /// One order, when the caller may see it; `ownOnly`: only when it is the
    /// caller's own, even for an admin (`/v2`, like Alpaca, shows an account its own orders).
    public func order(for caller: Caller, id: String, ownOnly: Bool = false) async throws -> OrderRecord {
        guard let order = try await ledger.order(id: id),
            ownOnly ? order.member == caller.member : ReadScope.mayRead(orderOf: order.member, caller: caller)
        else { throw PortfolioRefusal.orderNotFound(id: id) }
        return order
    }

    /// The order id the caller's `clientOrderId` stands for; the id itself when
    /// no order of theirs has it (it may be the desk's own order id).
    public func orderId(clientOrderId: String, for caller: Caller) async throws -> String {
        try await ledger.orderId(clientOrderId: clientOrderId, member: caller.member) ?? clientOrderId
    }

    /// The client order id of each of `orders` that has one, by order id.
    public func clientOrderIds(of orders: [OrderRecord]) async throws -> [String: String] {
        try await ledger.clientOrderIds(orderIds: orders.map(\.orderId))
    }

    /// The fills of an order `order(for:id:)` answered.
    public func fills(of order: OrderRecord) async throws -> [FillRecord] {
        try await ledger.fills(orderId: order.orderId)
    }

    /// The caller's own positions that are not flat, each with what their open
    /// orders on its closing side already claim of it.
    public func openPositions(of caller: Caller) async throws -> [OpenPosition] {
        let member = caller.member
        let records = try await ledger.positions(member: member).filter { $0.qty != 0 }
        let open = try await ledger.orders(OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit))
        return records.map { record in
            OpenPosition(
                holding: Holding(record: record, lastPrice: lastPrice(record.symbol)),
                heldForOrders: OpenPosition.held(by: open, of: record))
        }
    }

    /// The equity curve of the member asked for (default: the caller), or of one of
    /// their strategies, since `since`, one point per `stepSeconds`, ending with now.
    public func history(for caller: Caller, member: String?, strategy: String?, since: Date, stepSeconds: Int)
        async throws -> EquityCurve
    {
        let member = try ReadScope.member(requested: member, caller: caller)
        return try await equity.history(member: member, strategy: strategy, since: since, stepSeconds: stepSeconds)
    }

    /// `member`'s P&L since the start of today in `timeZone`: `total` (their P&L
    /// now) less their equity at midnight.
    public func today(for caller: Caller, member: String, total: Decimal, timeZone: TimeZone, now: Date = Date())
        async throws -> Decimal
    {
        let member = try ReadScope.member(requested: member, caller: caller)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let opening = try await ledger.equity(member: member, before: calendar.startOfDay(for: now))?.equity ?? 0
        return total - opening
    }

    /// Every member with a position or a live member token, in name order, with
    /// their positions and last day's equity curve (admins only).
    public func leaderboard(for caller: Caller) async throws -> [Standing] {
        guard caller.isAdmin else { throw PortfolioRefusal.adminOnly }
        let everyone = try await ledger.positions(member: nil)
        let tokens = try await ledger.tokens().filter { $0.revokedAt == nil && !$0.metricsOnly && !$0.isAdmin }
        var standings: [Standing] = []
        for member in Set(everyone.map(\.member)).union(tokens.map(\.member)).sorted() {
            let curve = try await equity.history(
                member: member, strategy: nil, since: Date().addingTimeInterval(-86_400), stepSeconds: 60)
            standings.append(Standing(member: member, positions: everyone.filter { $0.member == member }, curve: curve))
        }
        return standings
    }
}

extension Caller {
    /// Whoever can read the ledger file (`desk orders`, `desk positions` on this
    /// machine): the file holds everyone's figures, so they read everyone's.
    public static let ledgerOwner = Caller(member: "", isAdmin: true)
}

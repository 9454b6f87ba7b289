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
    /// A figure only an admin or officer sees (the leaderboard).
    case adminOnly
    /// A member's token asked for another venue's book than its own (a token reads its venue only).
    case otherVenue(requested: String, own: String)
    /// A venue the desk does not have.
    case unknownVenue(String, known: [String])

    /// What the refusal says, in every face.
    public var message: String {
        switch self {
        case .otherMember: "only an admin or officer token may read another member's data"
        case .orderNotFound(let id): "no order \(OrderValidation.quoted(id)) among your orders"
        case .adminOnly: "only an admin or officer token may read every member's figures"
        case .otherVenue(let requested, let own):
            "this token reads the \(own) venue's book only, not \(OrderValidation.quoted(requested)); use a token issued for that venue"
        case .unknownVenue(let name, let known):
            "venue \(OrderValidation.quoted(name)) is not one of this desk's venues (\(known.joined(separator: ", ")))"
        }
    }
}

/// Whose figures a read shows: the rule every face (the JSON API, `/v2`, the
/// page, the CLI) follows. Pure.
public enum ReadScope {
    /// The member a listing shows, nil meaning everyone: a member's own, always;
    /// an admin's or officer's, the member asked for or everyone.
    public static func listing(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String? {
        if caller.oversees { return requested }
        if let requested, requested != caller.member { throw .otherMember(requested: requested) }
        return caller.member
    }

    /// The one member a statement is about: the member asked for (an admin may ask for anyone), else the caller.
    public static func member(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String {
        try listing(requested: requested, caller: caller) ?? caller.member
    }

    /// Whether `caller` may see an order that belongs to `owner` on `venue`
    /// (a member's token: their own orders on its venue; `defaultVenue` is the
    /// venue of a token issued without one).
    public static func mayRead(orderOf owner: String, venue: String? = nil, caller: Caller, defaultVenue: String = "")
        -> Bool
    {
        if caller.oversees { return true }
        return owner == caller.member && (venue.map { $0 == own(caller, defaultVenue: defaultVenue) } ?? true)
    }

    /// The venue whose book a read shows, nil meaning every venue: a member's
    /// token, always its own venue (asking for another is refused); an admin's or
    /// officer's, the venue asked for or every venue. A venue not in `known`
    /// (when given) is refused, naming the desk's venues.
    public static func venue(requested: String?, caller: Caller, defaultVenue: String, known: [String] = [])
        throws(PortfolioRefusal) -> String?
    {
        if let requested, !known.isEmpty, !known.contains(requested) {
            throw .unknownVenue(requested, known: known)
        }
        if caller.oversees { return requested }
        let own = own(caller, defaultVenue: defaultVenue)
        if let requested, requested != own { throw .otherVenue(requested: requested, own: own) }
        return own
    }

    /// The caller's own venue: their token's, `defaultVenue` for a token issued without one.
    public static func own(_ caller: Caller, defaultVenue: String) -> String {
        caller.venue.isEmpty ? defaultVenue : caller.venue
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
    /// The exits of one bracket or oco (one cancels the other) hold their shares once.
    public static func held(by open: [OrderRecord], of position: PositionRecord) -> Decimal {
        let closingSide: Side = position.qty > 0 ? .sell : .buy
        var held: Decimal = 0
        var groups: [String: Decimal] = [:]
        for order in open where order.symbol == position.symbol && order.side == closingSide {
            let remaining = order.qty - order.filledQty
            if order.orderClass == .simple {
                held += remaining
            } else {
                let group = order.parentId ?? order.orderId
                groups[group] = max(groups[group] ?? 0, remaining)
            }
        }
        return groups.values.reduce(held, +)
    }
}

/// A member's account on one venue (every venue's, for an officer or admin who
/// named none): their positions and how many of their orders are open.
public struct AccountFigures: Sendable, Equatable {
    public var member: String
    public var positions: [PositionRecord]
    public var openOrders: Int
    /// The venue whose book it is; nil when it adds up every venue's.
    public var venue: String?
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

/// One member's line on the leaderboard: their book on one venue.
public struct Standing: Sendable, Equatable {
    public var member: String
    /// The venue whose book it is.
    public var venue: String
    public var positions: [PositionRecord]
    /// The member's equity over the last day (their whole book).
    public var curve: EquityCurve
}

/// The portfolio and P&L reads: positions, the account, orders and fills, the
/// equity history and the leaderboard. Each takes the caller and answers with
/// what that caller may see, or throws a `PortfolioRefusal` (ledger failures
/// are thrown as they are).
///
/// Books are per venue: a member's token reads its own venue's book only; an
/// officer or admin reads every venue's (each row with its venue) or one named.
public struct Portfolio: Sendable {
    let ledger: Ledger
    /// The last price of a symbol, as the desk last saw it.
    public let lastPrice: @Sendable (String) -> Decimal?
    /// Equity samples and histories over the same ledger and prices.
    public let equity: EquityBook
    /// The venue of a token issued without one.
    public let defaultVenue: String
    /// The desk's venues, which a requested venue must be one of (empty: not checked).
    public let venueNames: [String]

    /// Reads over `ledger`, valued at `lastPrice`; `defaultVenue` and `venueNames` are the desk's.
    public init(
        ledger: Ledger, lastPrice: @escaping @Sendable (String) -> Decimal?, defaultVenue: String = "",
        venueNames: [String] = []
    ) {
        self.ledger = ledger
        self.lastPrice = lastPrice
        self.defaultVenue = defaultVenue
        self.venueNames = venueNames
        equity = EquityBook(ledger: ledger, lastPrice: lastPrice)
    }

    /// The venue a read of `caller`'s shows (nil: every venue), `ReadScope.venue`'s rule with the desk's venues.
    public func venue(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String? {
        try ReadScope.venue(requested: requested, caller: caller, defaultVenue: defaultVenue, known: venueNames)
    }

    /// The one venue a statement (a curve, today's P&L) is about: the one asked for, else the caller's own.
    func oneVenue(requested: String?, caller: Caller) throws(PortfolioRefusal) -> String {
        try venue(requested: requested, caller: caller) ?? ReadScope.own(caller, defaultVenue: defaultVenue)
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

    /// Every venue the ledger has an order or a position on, in name order.
    public func venues() async throws -> [String] { try await ledger.venues() }

    /// The same reads, valued at other prices (those a running desk gave the CLI).
    public func valued(at lastPrice: @escaping @Sendable (String) -> Decimal?) -> Portfolio {
        Portfolio(ledger: ledger, lastPrice: lastPrice, defaultVenue: defaultVenue, venueNames: venueNames)
    }

    /// The same reads, knowing the desk's venues (the CLI reads them from the config file).
    public func knowing(venues: [String], defaultVenue: String) -> Portfolio {
        Portfolio(ledger: ledger, lastPrice: lastPrice, defaultVenue: defaultVenue, venueNames: venues)
    }

    /// Positions of the member asked for (nil: everyone, for an admin or officer)
    /// on the venue asked for (see `ReadScope.venue`), one row per member, venue
    /// and symbol, or per strategy too when `byStrategy`.
    public func positions(for caller: Caller, member: String?, byStrategy: Bool, venue: String? = nil) async throws
        -> [Holding]
    {
        let scope = try ReadScope.listing(requested: member, caller: caller)
        let venue = try self.venue(requested: venue, caller: caller)
        return try await ledger.positions(member: scope, venue: venue, byStrategy: byStrategy).map {
            Holding(record: $0, lastPrice: lastPrice($0.symbol))
        }
    }

    /// The account of the member asked for (default: the caller) on the venue asked
    /// for (a member's token: its own; an officer or admin naming none: every venue's).
    public func account(for caller: Caller, member: String?, venue: String? = nil) async throws -> AccountFigures {
        let member = try ReadScope.member(requested: member, caller: caller)
        let venue = try self.venue(requested: venue, caller: caller)
        let positions = try await ledger.positions(member: member, venue: venue)
        let open = try await ledger.countOrders(
            OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit, venue: venue))
        return AccountFigures(member: member, positions: positions, openOrders: open, venue: venue)
    }

    /// Orders matching `query`, newest first, limited to what the caller may see
    /// (a member's token: its own venue's).
    public func orders(for caller: Caller, _ query: OrderQuery) async throws -> [OrderRecord] {
        try await ledger.orders(try scoped(query, for: caller))
    }

    /// How many orders match `query` in all (a listing says when its limit left some out).
    public func orderCount(for caller: Caller, _ query: OrderQuery) async throws -> Int {
        try await ledger.countOrders(try scoped(query, for: caller))
    }

    private func scoped(_ query: OrderQuery, for caller: Caller) throws(PortfolioRefusal) -> OrderQuery {
        var query = query
        query.member = try ReadScope.listing(requested: query.member, caller: caller)
        query.venue = try venue(requested: query.venue, caller: caller)
        return query
    }

    /// One order, when the caller may see it; `ownOnly`: only when it is the
    /// caller's own, even for an admin (`/v2`, like Alpaca, shows an account its
    /// own orders). A member's token (and `ownOnly`) sees its own venue's orders only.
    public func order(for caller: Caller, id: String, ownOnly: Bool = false) async throws -> OrderRecord {
        let own = ReadScope.own(caller, defaultVenue: defaultVenue)
        guard let order = try await ledger.order(id: id),
            ownOnly
                ? order.member == caller.member && order.venue == own
                : ReadScope.mayRead(
                    orderOf: order.member, venue: order.venue, caller: caller, defaultVenue: defaultVenue)
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

    /// The caller's own positions on their venue that are not flat, each with what
    /// their open orders on its closing side already claim of it.
    public func openPositions(of caller: Caller) async throws -> [OpenPosition] {
        let member = caller.member
        let venue = ReadScope.own(caller, defaultVenue: defaultVenue)
        let records = try await ledger.positions(member: member, venue: venue).filter { $0.qty != 0 }
        let open = try await ledger.orders(
            OrderQuery(member: member, status: .open, limit: OrderQuery.maximumLimit, venue: venue))
        return records.map { record in
            OpenPosition(
                holding: Holding(record: record, lastPrice: lastPrice(record.symbol)),
                heldForOrders: OpenPosition.held(by: open, of: record))
        }
    }

    /// The equity curve of the member asked for (default: the caller), or of one of
    /// their strategies, on one venue (the one asked for, else the caller's own),
    /// since `since`, one point per `stepSeconds`, ending with now.
    public func history(
        for caller: Caller, member: String?, strategy: String?, since: Date, stepSeconds: Int, venue: String? = nil
    ) async throws -> EquityCurve {
        let member = try ReadScope.member(requested: member, caller: caller)
        return try await equity.history(
            member: member, strategy: strategy, venue: try oneVenue(requested: venue, caller: caller), since: since,
            stepSeconds: stepSeconds)
    }

    /// `member`'s P&L on one venue (the one asked for, else the caller's own) in
    /// today's P&L day, which begins at the exchange calendar's last session close:
    /// `total` (their P&L now) less their equity at that close.
    public func today(
        for caller: Caller, member: String, total: Decimal, calendar: SessionCalendar, now: Date = Date(),
        venue: String? = nil
    ) async throws -> Decimal {
        let member = try ReadScope.member(requested: member, caller: caller)
        let opening =
            try await ledger.equity(
                member: member, venue: try oneVenue(requested: venue, caller: caller),
                before: calendar.lastClose(atOrBefore: now))?.equity ?? 0
        return total - opening
    }

    /// Every member with a position or a live member token, in name order, with
    /// their positions and last day's equity curve on each venue they have a book
    /// on (a member with none yet: on the default venue), or on `venue` only (admins and officers only).
    public func leaderboard(for caller: Caller, venue: String? = nil) async throws -> [Standing] {
        guard caller.oversees else { throw PortfolioRefusal.adminOnly }
        let venue = try self.venue(requested: venue, caller: caller)
        let everyone = try await ledger.positions(member: nil, venue: venue)
        let tokens = try await ledger.tokens().filter {
            $0.revokedAt == nil && !$0.metricsOnly && !$0.isAdmin
                && (venue == nil || ($0.venue.isEmpty ? defaultVenue : $0.venue) == venue)
        }
        var books = Set(everyone.map { MemberVenue(member: $0.member, venue: $0.venue) })
        for member in Set(tokens.map(\.member)) where !books.contains(where: { $0.member == member }) {
            books.insert(MemberVenue(member: member, venue: venue ?? defaultVenue))
        }
        var standings: [Standing] = []
        for book in books.sorted(by: { ($0.member, $0.venue) < ($1.member, $1.venue) }) {
            let curve = try await equity.history(
                member: book.member, strategy: nil, venue: book.venue, since: Date().addingTimeInterval(-86_400),
                stepSeconds: 60)
            standings.append(
                Standing(
                    member: book.member, venue: book.venue,
                    positions: everyone.filter { $0.member == book.member && $0.venue == book.venue }, curve: curve))
        }
        return standings
    }

    private struct MemberVenue: Hashable {
        var member: String
        var venue: String
    }
}

extension Caller {
    /// Whoever can read the ledger file (`desk orders`, `desk positions` on this
    /// machine): the file holds everyone's figures, so they read everyone's.
    public static let ledgerOwner = Caller(member: "", isAdmin: true)
}

// What the ledger keeps, as plain values: every module speaks of orders, fills,
// positions, halts and audit lines in these types; only DeskLedger knows how they
// are stored (its row mappings extend them).
import Foundation

/// One order and where it is in its life (table `orders`).
public struct OrderRecord: Sendable, Equatable {
    public var orderId: String
    public var member: String
    /// Empty when the member placed the order directly.
    public var strategy: String
    public var symbol: String
    public var qty: Decimal
    public var side: Side
    public var orderType: OrderType
    public var timeInForce: TimeInForce
    public var limitPrice: Decimal?
    public var stopPrice: Decimal?
    public var status: OrderStatus
    public var filledQty: Decimal
    public var filledNotional: Decimal
    public var filledAvgPrice: Decimal?
    /// Why the order has its status (rejected, canceled), when there is a reason.
    public var statusReason: String?
    public var createdAt: Date
    public var updatedAt: Date
    /// The venue the order went to.
    public var venue: String
    /// How it relates to other orders (`order_class`).
    public var orderClass: OrderClass
    /// An exit's order (its entry; for oco the take profit); nil for the order itself.
    public var parentId: String?
    /// A trailing stop's trail in dollars.
    public var trailPrice: Decimal?
    /// A trailing stop's trail in percent.
    public var trailPercent: Decimal?
    /// The dollar amount a notional order asked for (`qty` is what it came to).
    public var notional: Decimal?
    /// May fill outside the regular session.
    public var extendedHours: Bool
    /// Its exits as they stand (bracket, oco, oto), in leg order; the ledger's
    /// reads fill them in (each is also an order of its own).
    public var legs: [OrderRecord]
    /// The order this one replaced (`PATCH /v2/orders/{id}`), if any.
    public var replaces: String?

    /// `order` as the ledger stores it, with its progress so far; its legs as
    /// journaled with it (``Order/legStatus``).
    public init(_ order: Order, progress: OrderProgress, updatedAt: Date? = nil) {
        venue = order.venue
        orderClass = order.orderClass
        parentId = order.parentId
        trailPrice = order.terms.trailPrice
        trailPercent = order.terms.trailPercent
        notional = order.terms.notional
        extendedHours = order.terms.extendedHours
        replaces = nil
        legs = order.legs.map {
            OrderRecord($0, progress: OrderProgress(qty: $0.terms.qty, status: order.legStatus), updatedAt: updatedAt)
        }
        orderId = order.id
        member = order.member
        strategy = order.strategy
        symbol = order.terms.symbol
        qty = order.terms.qty
        side = order.terms.side
        orderType = order.terms.type
        timeInForce = order.terms.timeInForce
        limitPrice = order.terms.limitPrice
        stopPrice = order.terms.stopPrice
        status = progress.status
        filledQty = progress.filledQty
        filledNotional = progress.filledNotional
        filledAvgPrice = progress.averageFillPrice
        statusReason = progress.statusReason
        createdAt = order.placedAt
        self.updatedAt = updatedAt ?? order.placedAt
    }

    /// The order as admitted.
    public var order: Order {
        Order(
            id: orderId, member: member, strategy: strategy,
            terms: OrderTerms(
                symbol: symbol, qty: qty, side: side, type: orderType, timeInForce: timeInForce,
                limitPrice: limitPrice, stopPrice: stopPrice, trailPrice: trailPrice, trailPercent: trailPercent,
                notional: notional, extendedHours: extendedHours),
            placedAt: createdAt, venue: venue, orderClass: orderClass, parentId: parentId, legs: legs.map(\.order))
    }

    /// The order's state machine, as stored.
    public var progress: OrderProgress {
        get {
            OrderProgress(
                qty: qty, status: status, filledQty: filledQty, filledNotional: filledNotional,
                statusReason: statusReason)
        }
        set {
            status = newValue.status
            filledQty = newValue.filledQty
            filledNotional = newValue.filledNotional
            filledAvgPrice = newValue.averageFillPrice
            statusReason = newValue.statusReason
        }
    }

    /// The order that replaced this one, when it was replaced.
    public var replacedBy: String? {
        guard status == .replaced, let reason = statusReason, reason.hasPrefix(OrderProgress.replacedByPrefix) else {
            return nil
        }
        return String(reason.dropFirst(OrderProgress.replacedByPrefix.count))
    }

    /// The order with what has filled, as a broker takes it back after a restart.
    public var working: WorkingOrder { WorkingOrder(order: order, progress: progress) }
}

extension [OrderRecord] {
    /// The orders without the legs whose order is among them (an order's legs go with it: canceling it cancels them, a nested listing shows them under it).
    public var topLevel: [OrderRecord] {
        let ids = Set(map(\.orderId))
        return filter { record in record.parentId.map { !ids.contains($0) } ?? true }
    }
}

/// One execution against an order (table `fills`). `fillId` is `FillID`'s: the
/// same fill reported twice is recorded once.
public struct FillRecord: Sendable, Equatable {
    public var id: Int64?
    public var orderId: String
    public var fillId: String
    public var member: String
    public var strategy: String
    public var symbol: String
    public var side: Side
    public var qty: Decimal
    public var price: Decimal
    public var filledAt: Date
    /// The venue the fill happened on (its order's).
    public var venue: String

    /// A fill as given.
    public init(
        id: Int64?, orderId: String, fillId: String, member: String, strategy: String, symbol: String, side: Side,
        qty: Decimal, price: Decimal, filledAt: Date, venue: String = ""
    ) {
        self.venue = venue
        self.id = id
        self.orderId = orderId
        self.fillId = fillId
        self.member = member
        self.strategy = strategy
        self.symbol = symbol
        self.side = side
        self.qty = qty
        self.price = price
        self.filledAt = filledAt
    }
}

/// A member's or a strategy's holding in one symbol (tables `member_positions`
/// and `strategy_positions`).
public struct PositionRecord: Sendable, Equatable {
    public var member: String
    /// Empty for the member's own (netted) book.
    public var strategy: String
    public var symbol: String
    public var qty: Decimal
    public var costBasis: Decimal
    public var realizedPnL: Decimal
    public var updatedAt: Date
    /// The venue whose book the holding is in.
    public var venue: String

    /// A holding as given.
    public init(
        member: String, strategy: String, symbol: String, position: Position, updatedAt: Date, venue: String = ""
    ) {
        self.venue = venue
        self.member = member
        self.strategy = strategy
        self.symbol = symbol
        qty = position.qty
        costBasis = position.costBasis
        realizedPnL = position.realizedPnL
        self.updatedAt = updatedAt
    }

    /// The arithmetic view of this holding.
    public var position: Position { Position(qty: qty, costBasis: costBasis, realizedPnL: realizedPnL) }
}

/// One line of the audit log: every order request, cancel and admin action,
/// accepted or not (table `audit_events`).
public struct AuditEvent: Sendable, Equatable {
    public var id: Int64?
    public var at: Date
    public var member: String?
    /// Empty when no strategy was involved.
    public var strategy: String
    public var action: AuditAction
    public var orderId: String?
    public var outcome: AuditOutcome
    public var httpStatus: Int?
    public var detail: String?

    /// An audit line as given.
    public init(
        at: Date, member: String?, strategy: String, action: AuditAction, orderId: String? = nil,
        outcome: AuditOutcome,
        httpStatus: Int? = nil, detail: String? = nil
    ) {
        self.at = at
        self.member = member
        self.strategy = strategy
        self.action = action
        self.orderId = orderId
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.detail = detail
    }
}

/// A kill switch that is on (table `halts`): for the whole desk, one venue, one
/// member or one strategy.
public struct HaltRecord: Codable, Sendable, Equatable {
    /// The scope that stands for every member.
    public static let wholeDesk = "*"

    /// The scope that stands for every order on `venue`.
    public static func venueScope(_ venue: String) -> String { "venue:" + venue }

    /// The scope that stands for every order of the strategy `strategy` (strategy names are unique on a desk).
    public static func strategyScope(_ strategy: String) -> String { "strategy:" + strategy }

    /// The scopes that cover an order of `member`'s `strategy` (empty: none) on `venue`, widest first.
    public static func scopes(member: String, venue: String, strategy: String) -> [String] {
        [wholeDesk, venueScope(venue), member] + (strategy.isEmpty ? [] : [strategyScope(strategy)])
    }

    /// What a scope covers, in words: "the whole desk", "the venue live", "alice", "the strategy s1".
    public static func describe(scope: String) -> String {
        if scope == wholeDesk { return "the whole desk" }
        if scope.hasPrefix("venue:") { return "the venue " + scope.dropFirst("venue:".count) }
        if scope.hasPrefix("strategy:") { return "the strategy " + scope.dropFirst("strategy:".count) }
        return scope
    }

    /// `*` (the whole desk), `venue:NAME`, `strategy:NAME`, or a member id.
    public var scope: String
    public var reason: String?
    public var haltedBy: String?
    public var haltedAt: Date

    /// A halt as given.
    public init(scope: String, reason: String?, haltedBy: String?, haltedAt: Date) {
        self.scope = scope
        self.reason = reason
        self.haltedBy = haltedBy
        self.haltedAt = haltedAt
    }
}

/// One point of a member's (or one strategy's) equity curve: realized plus
/// unrealized P&L at the prices the desk saw at `at` (table `pnl_history`).
public struct EquitySample: Sendable, Equatable {
    public var member: String
    /// Empty for the member's whole book.
    public var strategy: String
    public var at: Date
    public var realizedPnL: Decimal
    public var unrealizedPnL: Decimal
    /// The venue whose book the sample is of.
    public var venue: String

    /// Realized plus unrealized.
    public var equity: Decimal { realizedPnL + unrealizedPnL }

    public init(
        member: String, strategy: String, at: Date, realizedPnL: Decimal, unrealizedPnL: Decimal, venue: String = ""
    ) {
        self.venue = venue
        self.member = member
        self.strategy = strategy
        self.at = at
        self.realizedPnL = realizedPnL
        self.unrealizedPnL = unrealizedPnL
    }
}

/// Who a bearer token speaks for.
public struct TokenIdentity: Sendable, Equatable {
    public var tokenId: Int64
    /// The member every order placed with the token belongs to.
    public var member: String
    /// The strategy the token was issued for; empty for a member's own token.
    public var strategy: String
    /// Admin tokens may read everyone's data and use the admin API.
    public var isAdmin: Bool
    /// A metrics token: it may read `/metrics` and nothing else.
    public var isMetricsOnly: Bool
    /// An officer's token: approves promotions, halts and resumes, reads every member's figures.
    public var isOfficer: Bool
    /// The venue the token trades on; empty for a token issued without one (the desk's default venue).
    public var venue: String

    public init(
        tokenId: Int64, member: String, strategy: String, isAdmin: Bool, isMetricsOnly: Bool = false,
        isOfficer: Bool = false, venue: String = ""
    ) {
        self.tokenId = tokenId
        self.member = member
        self.strategy = strategy
        self.isAdmin = isAdmin
        self.isMetricsOnly = isMetricsOnly
        self.isOfficer = isOfficer
        self.venue = venue
    }

    /// What the token may do: admin, officer or member.
    public var role: DeskRole { isAdmin ? .admin : isOfficer ? .officer : .member }
}

/// Who issued a token (the `issued_by` column).
public enum TokenIssuer: String, Sendable, Codable, CaseIterable {
    /// `desk tokens issue` (or a test): lives until revoked by hand.
    case cli
    /// The desk itself, for its admin token file.
    case desk
    /// The strategy supervisor, for one run of one strategy: revoked when the run
    /// ends, and at the next desk start when a kill -9 left it live.
    case supervisor
    /// An admin, on the web desk (`POST /admin/tokens`): lives until revoked.
    case web
}

/// A token just issued: the secret is shown once and never stored.
public struct IssuedToken: Sendable, Equatable {
    public var identity: TokenIdentity
    public var secret: String

    /// A token as issued.
    public init(identity: TokenIdentity, secret: String) {
        self.identity = identity
        self.secret = secret
    }
}

/// What applying one update did.
public enum LedgerUpdateOutcome: Sendable {
    /// The order changed; here it is after the change.
    case applied(OrderRecord)
    /// A fill already booked; nothing changed.
    case duplicate(OrderRecord)
    /// The state machine refused the event; nothing changed.
    case refused(OrderRecord, OrderTransitionError)
    /// No such order in the ledger.
    case unknownOrder

    /// The order after the update, when it exists.
    public var order: OrderRecord? {
        switch self {
        case .applied(let order), .duplicate(let order), .refused(let order, _): order
        case .unknownOrder: nil
        }
    }
}

/// Which orders to list.
public struct OrderQuery: Sendable, Equatable {
    /// Which statuses.
    public enum StatusFilter: Sendable, Equatable {
        case all, open, closed
        case exactly(OrderStatus)
    }

    /// One member's orders, or everyone's when nil.
    public var member: String?
    public var status: StatusFilter
    public var symbol: String?
    /// Orders created at or after this time.
    public var since: Date?
    public var limit: Int
    /// One venue's orders, or every venue's when nil.
    public var venue: String?

    /// Most orders one listing returns.
    public static let maximumLimit = 10_000

    public init(
        member: String?, status: StatusFilter = .all, symbol: String? = nil, since: Date? = nil, limit: Int = 100,
        venue: String? = nil
    ) {
        self.venue = venue
        self.member = member
        self.status = status
        self.symbol = symbol
        self.since = since
        self.limit = min(max(limit, 1), Self.maximumLimit)
    }
}

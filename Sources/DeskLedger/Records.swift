import DeskCore
import Foundation
import GRDB

/// One order and where it is in its life (table `orders`).
public struct OrderRecord: Sendable, Equatable, FetchableRecord {
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

    /// `order` as the ledger stores it, with its progress so far.
    public init(_ order: Order, progress: OrderProgress, updatedAt: Date? = nil) {
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
                limitPrice: limitPrice, stopPrice: stopPrice),
            placedAt: createdAt)
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

    /// The order with what has filled, as a broker takes it back after a restart.
    public var working: WorkingOrder { WorkingOrder(order: order, progress: progress) }
}

/// One execution against an order (table `fills`). `fillId` is `FillID`'s: the
/// same fill reported twice is recorded once.
public struct FillRecord: Sendable, Equatable, FetchableRecord {
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
}

/// A member's or a strategy's holding in one symbol (tables `member_positions`
/// and `strategy_positions`).
public struct PositionRecord: Sendable, Equatable, FetchableRecord {
    public var member: String
    /// Empty for the member's own (netted) book.
    public var strategy: String
    public var symbol: String
    public var qty: Decimal
    public var costBasis: Decimal
    public var realizedPnL: Decimal
    public var updatedAt: Date

    /// A holding as given.
    public init(
        member: String, strategy: String, symbol: String, position: Position, updatedAt: Date
    ) {
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

/// A bearer token as stored: only its SHA-256 hash (table `tokens`).
public struct TokenRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    /// Keeps the row id SQLite assigned.
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public static let databaseTableName = "tokens"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var tokenHash: String
    public var member: String
    /// Empty for a member's own token.
    public var strategy: String
    public var isAdmin: Bool
    public var createdAt: Date
    public var revokedAt: Date?
    /// A `TokenIssuer` raw value: `cli`, `desk` or `supervisor`.
    public var issuedBy: String
    /// May read `/metrics` and nothing else.
    public var metricsOnly: Bool
}

/// One line of the audit log: every order request, cancel and admin action,
/// accepted or not (table `audit_events`).
public struct AuditEvent: Sendable, Equatable, FetchableRecord {
    public var id: Int64?
    public var at: Date
    public var member: String?
    /// Empty when no strategy was involved.
    public var strategy: String
    public var action: String
    public var orderId: String?
    public var outcome: String
    public var httpStatus: Int?
    public var detail: String?

    /// An audit line as given.
    public init(
        at: Date, member: String?, strategy: String, action: String, orderId: String? = nil, outcome: String,
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

/// A kill switch that is on (table `halts`): for one member, or for the whole desk.
public struct HaltRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "halts"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    /// The scope that stands for every member.
    public static let wholeDesk = "*"

    /// A member id, or `*` for the whole desk.
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

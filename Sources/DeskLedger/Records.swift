import DeskCore
import Foundation
import GRDB

/// One order and where it is in its life (table `orders`).
public struct OrderRecord: Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "orders"

    public var orderId: String
    public var userId: String
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
    public var rejectReason: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// A new order as the desk journals it, before the broker has seen it.
    public init(orderId: String, userId: String, strategy: String, order: NewOrder, at: Date) {
        self.orderId = orderId
        self.userId = userId
        self.strategy = strategy
        self.symbol = order.symbol
        self.qty = order.qty
        self.side = order.side
        self.orderType = order.type
        self.timeInForce = order.timeInForce
        self.limitPrice = order.limitPrice
        self.stopPrice = order.stopPrice
        self.status = .pendingNew
        self.filledQty = 0
        self.filledNotional = 0
        self.filledAvgPrice = nil
        self.rejectReason = nil
        self.createdAt = at
        self.updatedAt = at
    }

    /// The order's terms as validated.
    public var terms: NewOrder {
        NewOrder(
            symbol: symbol, qty: qty, side: side, type: orderType, timeInForce: timeInForce, limitPrice: limitPrice,
            stopPrice: stopPrice)
    }

    /// The order's state machine, as stored.
    public var progress: OrderProgress {
        get {
            OrderProgress(
                qty: qty, status: status, filledQty: filledQty, filledNotional: filledNotional, reason: rejectReason)
        }
        set {
            status = newValue.status
            filledQty = newValue.filledQty
            filledNotional = newValue.filledNotional
            filledAvgPrice = newValue.averageFillPrice
            rejectReason = newValue.reason
        }
    }
}

/// One execution against an order (table `fills`). `fillId` is the broker's
/// execution id: the same fill reported twice is recorded once.
public struct FillRecord: Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "fills"

    public var id: Int64?
    public var orderId: String
    public var fillId: String
    public var userId: String
    public var strategy: String
    public var symbol: String
    public var side: Side
    public var qty: Decimal
    public var price: Decimal
    public var filledAt: Date
}

/// A member's or a strategy's holding in one symbol.
public struct PositionRecord: Sendable, Equatable, FetchableRecord {
    public var userId: String
    /// Empty for the member's own (netted) book.
    public var strategy: String
    public var symbol: String
    public var qty: Decimal
    public var costBasis: Decimal
    public var realizedPnl: Decimal
    public var updatedAt: Date

    /// The arithmetic view of this holding.
    public var position: Position { Position(qty: qty, costBasis: costBasis, realizedPnL: realizedPnl) }
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
    public var userId: String
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
public struct AuditEvent: Sendable, Equatable, FetchableRecord, TableRecord {
    public static let databaseTableName = "audit_events"

    public var id: Int64?
    public var at: Date
    public var userId: String?
    public var strategy: String?
    public var action: String
    public var orderId: String?
    public var outcome: String
    public var httpStatus: Int?
    public var detail: String?

    public init(
        at: Date, userId: String?, strategy: String?, action: String, orderId: String? = nil, outcome: String,
        httpStatus: Int? = nil, detail: String? = nil
    ) {
        self.at = at
        self.userId = userId
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

    public init(scope: String, reason: String?, haltedBy: String?, haltedAt: Date) {
        self.scope = scope
        self.reason = reason
        self.haltedBy = haltedBy
        self.haltedAt = haltedAt
    }
}

import Foundation

/// Something the broker reports about an order.
public enum OrderEvent: Sendable, Equatable {
    /// The broker took the order and it is working.
    case accepted
    /// Part or all of the order traded.
    case fill(qty: Decimal, price: Decimal)
    /// Canceled, by the member or because time in force ran out (ioc/fok).
    case canceled(reason: String?)
    /// A day order reached the session close.
    case expired
    /// The broker refused the order.
    case rejected(reason: String)
    /// Replaced by the order `by` (`PATCH /v2/orders/{id}`): final for this one.
    case replaced(by: String)
}

/// Why an event cannot apply to an order in its present state.
public struct OrderTransitionError: Error, Equatable, Sendable, CustomStringConvertible {
    public var from: OrderStatus
    public var event: OrderEvent
    public var reason: String

    public var description: String { "cannot apply \(event) to an order that is \(from.rawValue): \(reason)" }
}

/// The order state machine: status, filled quantity and the money that traded.
/// Pure value type; the ledger persists it and the broker drives it.
public struct OrderProgress: Sendable, Equatable {
    /// A replaced order's status reason is this and the id of the order that replaced it.
    public static let replacedByPrefix = "replaced by "
    public private(set) var status: OrderStatus
    public let qty: Decimal
    public private(set) var filledQty: Decimal
    /// Sum of fill quantity × fill price, exact.
    public private(set) var filledNotional: Decimal
    /// Why the order has its status, when the status has a reason (rejected,
    /// canceled): the ledger's `status_reason`.
    public private(set) var statusReason: String?

    public init(
        qty: Decimal, status: OrderStatus = .pendingNew, filledQty: Decimal = 0, filledNotional: Decimal = 0,
        statusReason: String? = nil
    ) {
        self.qty = qty
        self.status = status
        self.filledQty = filledQty
        self.filledNotional = filledNotional
        self.statusReason = statusReason
    }

    /// What is left to fill.
    public var remainingQty: Decimal { qty - filledQty }

    /// Average fill price rounded to 6 decimal places, nil before the first fill.
    public var averageFillPrice: Decimal? {
        filledQty > 0 ? ExactDecimal.rounded(filledNotional / filledQty, scale: 6) : nil
    }

    /// Applies `event`; throws when the state machine does not allow it, leaving the order unchanged.
    public mutating func apply(_ event: OrderEvent) throws(OrderTransitionError) {
        let from = status
        let fail = { (reason: String) in OrderTransitionError(from: from, event: event, reason: reason) }
        if status.isFinal { throw fail("the order is already final") }
        switch event {
        case .accepted:
            // A held exit is accepted when its entry has filled: it works from then on.
            if status == .pendingNew || status == .held { status = .new }
        // Accepted after a fill (events out of order) changes nothing.
        case .fill(let fillQty, let price):
            if fillQty <= 0 { throw fail("fill quantity must be positive") }
            if price <= 0 { throw fail("fill price must be positive") }
            if fillQty > remainingQty {
                throw fail(
                    "fill of \(ExactDecimal.plain(fillQty)) exceeds the remaining \(ExactDecimal.plain(remainingQty))")
            }
            filledQty += fillQty
            filledNotional += fillQty * price
            status = filledQty == qty ? .filled : .partiallyFilled
        case .canceled(let why):
            status = .canceled
            statusReason = why
        case .expired:
            status = .expired
        case .rejected(let why):
            if status != .pendingNew && status != .new && status != .held {
                throw fail("a partly filled order cannot be rejected")
            }
            status = .rejected
            statusReason = why
        case .replaced(let newOrderId):
            status = .replaced
            statusReason = Self.replacedByPrefix + newOrderId
        }
    }
}

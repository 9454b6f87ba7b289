import DeskBroker
import DeskCore
import DeskOrders

/// Why the desk did not place an order (a ticket, or the order that closes a
/// position), with the figures each face's message needs. Each face answers
/// every case in one table of its own.
public enum OrderRefusal: Error, Sendable {
    /// The ticket broke an order rule.
    case invalid(OrderValidationError)
    /// A pre-trade limit refused it.
    case risk(RiskRejection)
    /// Over the member's order rate.
    case rateLimited(String)
    /// A kill switch is on.
    case halted(String)
    /// A kill switch came on after the order was journaled: recorded as rejected, never sent.
    case stopped(OrderRecord, reason: String)
    /// The broker refused it; the order is recorded as rejected.
    case broker(OrderRecord, reason: String, kind: BrokerRefusal)
    /// The desk itself failed (storage or broker unreachable).
    case failed(String)
    /// The member already gave another order this client order id.
    case clientOrderIdTaken(String)
    /// The member holds no position in this symbol.
    case noPosition(symbol: String)
    /// The amount asked is less than the smallest order the broker takes (less than one share).
    case nothingToClose(symbol: String)

    /// The refusal of a placement; nil when it was accepted.
    public init?(_ placement: OrderDesk.Placement) {
        switch placement {
        case .accepted: return nil
        case .invalid(let error): self = .invalid(error)
        case .riskRejected(let rejection): self = .risk(rejection)
        case .rateLimited(let message): self = .rateLimited(message)
        case .halted(let message): self = .halted(message)
        case .stopped(let order, let reason): self = .stopped(order, reason: reason)
        case .brokerRefused(let order, let reason, let kind): self = .broker(order, reason: reason, kind: kind)
        case .failed(let message): self = .failed(message)
        }
    }

    /// The order as recorded, when the desk recorded one before refusing it.
    public var order: OrderRecord? {
        switch self {
        case .stopped(let order, _), .broker(let order, _, _): order
        default: nil
        }
    }

    /// What the refusal says, in every face.
    public var message: String {
        switch self {
        case .invalid(let error): error.message
        case .risk(let rejection): "risk limit \(rejection.limit): \(rejection.message)"
        case .rateLimited(let message), .halted(let message), .stopped(_, let message), .failed(let message):
            message
        case .broker(_, let reason, _): "broker rejected the order: \(reason)"
        case .clientOrderIdTaken(let id): "client_order_id must be unique: \(id) is taken"
        case .noPosition(let symbol): "no position in \(symbol)"
        case .nothingToClose(let symbol): "nothing to close: that is less than one share of \(symbol)"
        }
    }
}

/// Why the desk did not replace an order; the old order works on as it was.
public enum ReplaceRefusal: Error, Sendable {
    /// The replace changes nothing (Alpaca: 403 "order parameters are not changed").
    case unchanged
    /// No such order among the caller's.
    case notFound(String)
    /// The order is not working (final, not yet working) or its venue would not replace it.
    case notReplaceable(OrderRecord, String)
    /// The new order was refused (validation, limits, kill switch, client order id) or the desk failed.
    case refused(OrderRefusal)

    /// What the refusal says.
    public var message: String {
        switch self {
        case .unchanged: "order parameters are not changed"
        case .notFound(let message), .notReplaceable(_, let message): message
        case .refused(let refusal): refusal.message
        }
    }
}

/// Why the desk did not cancel an order.
public enum CancelRefusal: Error, Sendable {
    /// No such order among the caller's.
    case notFound(String)
    /// The order is no longer working (filled, canceled, …) or the broker would not cancel it.
    case notCancelable(OrderRecord, String)
    /// The desk itself failed (storage or broker unreachable).
    case failed(String)

    /// What the refusal says.
    public var message: String {
        switch self {
        case .notFound(let message), .notCancelable(_, let message), .failed(let message): message
        }
    }
}

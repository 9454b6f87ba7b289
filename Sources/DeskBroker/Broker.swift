import DeskCore
import Foundation

/// An order as the desk hands it to a broker. `orderId` is the desk's own id and
/// the broker's client order id, so a resubmission can never place it twice.
public struct BrokerOrder: Sendable, Equatable {
    public var orderId: String
    public var terms: NewOrder
    /// When the desk accepted it (day orders expire at that day's close).
    public var placedAt: Date
    /// What had already filled, when an open order is handed back after a restart.
    public var filledQty: Decimal
    /// Sum of quantity × price of what had filled (exact).
    public var filledNotional: Decimal
    /// The member it belongs to (a broker shares its request budget fairly between members).
    public var member: String
    /// Sent before, by a desk that stopped before it heard the answer: the broker
    /// looks for it before submitting it again.
    public var resubmission: Bool

    public init(
        orderId: String, terms: NewOrder, placedAt: Date, filledQty: Decimal = 0, filledNotional: Decimal = 0,
        member: String = "", resubmission: Bool = false
    ) {
        self.orderId = orderId
        self.terms = terms
        self.placedAt = placedAt
        self.filledQty = filledQty
        self.filledNotional = filledNotional
        self.member = member
        self.resubmission = resubmission
    }
}

/// Something the broker says happened to one order.
public struct BrokerUpdate: Sendable, Equatable {
    public var orderId: String
    public var event: OrderEvent
    /// The broker's execution id for fills (the ledger books each once).
    public var fillId: String?
    public var at: Date

    public init(orderId: String, event: OrderEvent, fillId: String? = nil, at: Date) {
        self.orderId = orderId
        self.event = event
        self.fillId = fillId
        self.at = at
    }
}

/// Why a broker did not take a request.
public enum BrokerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broker refused the request; the member gets `reason` with a 4xx `status`.
    case refused(reason: String, status: Int)
    /// The broker could not be reached or failed; the desk answers 5xx.
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let reason, _): reason
        case .unavailable(let reason): "broker unavailable: \(reason)"
        }
    }
}

/// A place orders go: the embedded paper broker or a real one (Alpaca).
///
/// `submit` and `cancel` return what happened at once (a marketable order may
/// fill immediately); what happens later (resting orders filling, expiring)
/// arrives on `updates`.
public protocol Broker: Sendable {
    /// Short name for logs and status (`paper`, `alpaca`).
    var name: String { get }
    /// What orders this broker takes (fractional shares, maximums).
    var orderRules: OrderRules { get }
    /// Sends a new order. Idempotent per `orderId`.
    func submit(_ order: BrokerOrder) async throws(BrokerError) -> [BrokerUpdate]
    /// Asks to cancel a working order.
    func cancel(orderId: String) async throws(BrokerError) -> [BrokerUpdate]
    /// Takes back orders the ledger says are open (after a desk restart), and
    /// reports what happened to each while the desk was away.
    func restore(_ openOrders: [BrokerOrder]) async throws(BrokerError) -> [BrokerUpdate]
    /// Later events, in the order they happened. One consumer.
    var updates: AsyncStream<BrokerUpdate> { get }
    /// Last known trade price of `symbol`.
    func lastPrice(_ symbol: String) -> Decimal?
}

import DeskCore
import Foundation
import ServiceLifecycle

/// Why a broker refused a request, in the desk's terms: each face chooses
/// what it answers for each (the seed's `/order` and `/v2` keep their status codes).
public enum BrokerRefusal: String, Sendable, Equatable, CaseIterable {
    /// The order breaks the broker's rules, or the broker cannot price it.
    case invalidOrder = "invalid_order"
    /// The account may not do this (Alpaca's 403: buying power, a blocked account).
    case notPermitted = "not_permitted"
    /// The broker's request budget is in use; a retry later may pass.
    case rateLimited = "rate_limited"
    /// The broker has no such order.
    case unknownOrder = "unknown_order"
    /// The order is no longer working at the broker.
    case notCancelable = "not_cancelable"
}

/// Why a broker did not take a request.
public enum BrokerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The broker refused the request: `reason` in words, `kind` for the faces.
    case refused(reason: String, kind: BrokerRefusal)
    /// The broker could not be reached or failed; the desk answers 5xx.
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let reason, _): reason
        case .unavailable(let reason): "broker unavailable: \(reason)"
        }
    }
}

/// When a new order has to be durable, which decides how many commits an order costs.
public enum BrokerJournaling: Sendable, Equatable {
    /// The broker decides in this process (the paper broker): its answer and the
    /// order are written in one transaction, and nothing left the process before it.
    case withDecision
    /// The broker is outside the process (Alpaca): the order is journaled before
    /// it leaves, and what the broker answered is booked in a second transaction.
    case beforeSubmission
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
    /// When a new order must be durable relative to `submit`.
    var journaling: BrokerJournaling { get }
    /// Sends a new order. Idempotent per order id; `resubmission` says a desk that
    /// stopped before hearing the answer sent it before.
    nonisolated(nonsending) func submit(_ order: Order, resubmission: Bool) async throws(BrokerError) -> [OrderUpdate]
    /// Asks to cancel a working order.
    nonisolated(nonsending) func cancel(orderId: String) async throws(BrokerError) -> [OrderUpdate]
    /// Forgets an order the desk could not record after `submit` decided it
    /// (only brokers that journal `withDecision` are asked).
    func forget(orderId: String)
    /// Takes back orders the ledger says are open (after a desk restart), and
    /// reports what happened to each while the desk was away.
    nonisolated(nonsending) func restore(_ openOrders: [WorkingOrder]) async throws(BrokerError) -> [OrderUpdate]
    /// Later events, in the order they happened. One consumer.
    var updates: AsyncStream<OrderUpdate> { get }
    /// Last known trade price of `symbol`.
    func lastPrice(_ symbol: String) -> Decimal?
    /// A trade price from the desk's feed (or an admin): risk checks value market
    /// orders with it; the paper broker fills resting orders at it.
    func observe(symbol: String, price: Decimal, size: Decimal?, at: Date)
    /// The broker expires day orders at the session close on its own (Alpaca);
    /// otherwise the desk calls `closeSession(at:)` at each close.
    var expiresDayOrdersItself: Bool { get }
    /// The trading session closed at `at`: working day orders expire (their
    /// updates arrive on `updates`).
    func closeSession(at: Date)
    /// What must run while the broker is in use (Alpaca's stream and poller); nil for none.
    var service: (any Service)? { get }
    /// The broker's own account, when it has one to reconcile the ledger with.
    var reconciling: (any ReconcilingBroker)? { get }
    /// Ends `updates` (the desk is done with the broker).
    func finish()
}

/// A broker with an account of its own (Alpaca), which the ledger can drift from.
public protocol ReconcilingBroker: Sendable {
    /// Checks `openOrders` at the broker: the updates the ledger missed, and the
    /// orders the broker does not know.
    func catchUp(openOrders: [WorkingOrder]) async throws(BrokerError) -> (updates: [OrderUpdate], unknown: [String])
    /// The account as the broker has it: open orders and positions.
    func account() async throws(BrokerError) -> BrokerAccount
}

/// An account at a broker: what it holds and has working, in the desk's terms.
public struct BrokerAccount: Sendable, Equatable {
    /// An open order at the broker.
    public struct OpenOrder: Sendable, Equatable {
        public var brokerId: String
        /// The desk's order id, when the desk placed it.
        public var clientOrderId: String
        public var symbol: String?
        public var side: String?
        public var qty: Decimal?
        public var status: String

        /// An open order as the broker reports it.
        public init(
            brokerId: String, clientOrderId: String, symbol: String?, side: String?, qty: Decimal?, status: String
        ) {
            self.brokerId = brokerId
            self.clientOrderId = clientOrderId
            self.symbol = symbol
            self.side = side
            self.qty = qty
            self.status = status
        }
    }

    public var openOrders: [OpenOrder]
    /// Signed quantity per symbol (negative: short).
    public var positions: [String: Decimal]
    /// What the account is worth at the broker (cash and positions), when it says.
    public var equity: Decimal?

    /// An account as given.
    public init(openOrders: [OpenOrder], positions: [String: Decimal], equity: Decimal? = nil) {
        self.openOrders = openOrders
        self.positions = positions
        self.equity = equity
    }
}

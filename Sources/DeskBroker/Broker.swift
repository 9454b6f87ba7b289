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

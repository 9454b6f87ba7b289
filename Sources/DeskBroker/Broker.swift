import DeskCore
import Foundation
import ServiceLifecycle

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

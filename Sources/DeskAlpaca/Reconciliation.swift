import DeskBroker
import DeskCore
import Foundation

/// What `desk reconcile` found: the ledger against Alpaca's account.
public struct ReconciliationReport: Codable, Sendable, Equatable {
    /// An open order at Alpaca that the desk did not place.
    public struct OutsideOrder: Codable, Sendable, Equatable {
        public var alpaca_id: String
        public var client_order_id: String
        public var symbol: String?
        public var side: String?
        public var qty: String?
        public var status: String
    }

    /// A symbol where the members' positions do not add up to the account's.
    public struct PositionDifference: Codable, Sendable, Equatable {
        public var symbol: String
        /// Sum of every member's position in the ledger.
        public var desk: String
        /// The account's position at Alpaca.
        public var broker: String
    }

    public var checked_at: String
    /// Open orders in the ledger, checked at Alpaca.
    public var open_orders_checked: Int
    /// Events (fills, cancels, expiries) the ledger caught up on.
    public var events_caught_up: Int
    /// Ledger orders Alpaca has never heard of.
    public var unknown_to_broker: [String]
    public var outside_orders: [OutsideOrder]
    public var position_differences: [PositionDifference]
    /// The members' capital allocations next to the account's equity (they need not add up).
    public var capital: CapitalSummary?

    /// Each member's allocation, their sum, and what the account is worth at the broker.
    public struct CapitalSummary: Codable, Sendable, Equatable {
        /// Member → allocation, for every member the desk knows of (a position, an
        /// open order, or a line in the risk configuration) that has one.
        public var allocations: [String: String]
        /// Σ of the allocations.
        public var allocated: String
        /// The account's equity at the broker (`/v2/account`), when it said.
        public var broker_equity: String?

        public init(allocations: [String: Decimal], brokerEquity: Decimal?) {
            self.allocations = allocations.mapValues(ExactDecimal.plain)
            allocated = ExactDecimal.plain(allocations.values.reduce(0, +))
            broker_equity = brokerEquity.map(ExactDecimal.plain)
        }
    }

    public var isClean: Bool {
        unknown_to_broker.isEmpty && outside_orders.isEmpty && position_differences.isEmpty
    }
}

public enum Reconciliation {
    /// Compares the ledger (after it caught up) with the account. Pure.
    public static func compare(
        deskOrderIds: Set<String>, deskPositions: [String: Decimal], brokerOpenOrders: [AlpacaOrder],
        brokerPositions: [AlpacaPosition], openOrdersChecked: Int, eventsCaughtUp: Int, unknownToBroker: [String],
        at: Date
    ) -> ReconciliationReport {
        let outside = brokerOpenOrders.filter { !deskOrderIds.contains($0.client_order_id) }.map {
            ReconciliationReport.OutsideOrder(
                alpaca_id: $0.id, client_order_id: $0.client_order_id, symbol: $0.symbol, side: $0.side,
                qty: $0.qty.map { ExactDecimal.plain($0.value) }, status: $0.status)
        }
        var broker: [String: Decimal] = [:]
        for position in brokerPositions {
            // Alpaca signs short quantities; older payloads only say "short".
            let qty = position.qty.value
            broker[position.symbol, default: 0] += position.side == "short" && qty > 0 ? -qty : qty
        }
        let symbols = Set(broker.keys).union(deskPositions.keys).sorted()
        let differences = symbols.compactMap { symbol -> ReconciliationReport.PositionDifference? in
            let desk = deskPositions[symbol] ?? 0
            let account = broker[symbol] ?? 0
            guard desk != account else { return nil }
            return .init(symbol: symbol, desk: ExactDecimal.plain(desk), broker: ExactDecimal.plain(account))
        }
        let formatter = ISO8601DateFormatter()
        return ReconciliationReport(
            checked_at: formatter.string(from: at), open_orders_checked: openOrdersChecked,
            events_caught_up: eventsCaughtUp, unknown_to_broker: unknownToBroker.sorted(), outside_orders: outside,
            position_differences: differences, capital: nil)
    }
}

extension AlpacaBroker {
    /// Checks the ledger's open orders at Alpaca and returns what the ledger missed
    /// (to be booked by the caller), with the orders Alpaca does not know.
    public func reconcile(openOrders: [BrokerOrder]) async throws(BrokerError) -> (
        updates: [BrokerUpdate], unknown: [String]
    ) {
        for order in openOrders where !isFollowing(order.orderId) {
            followRestored(order)
        }
        return try await followUp(only: Set(openOrders.map(\.orderId)), deliver: false)
    }

    /// The account's equity (`GET /v2/account`), nil when Alpaca does not say.
    public func equity() async throws(BrokerError) -> Decimal? {
        let reply = try await rest.send(.GET, "/v2/account", member: Self.deskMember)
        guard reply.status == 200 else {
            throw .unavailable("Alpaca answered \(reply.status): \(reply.errorMessage)")
        }
        struct Account: Decodable { var equity: String? }
        guard let text = (try? JSONDecoder().decode(Account.self, from: Data(reply.body)))?.equity,
            case .success(let equity) = ExactDecimal.parse(text)
        else { return nil }
        return equity
    }

    /// Alpaca's open orders and positions.
    public func account() async throws(BrokerError) -> (openOrders: [AlpacaOrder], positions: [AlpacaPosition]) {
        let orders = try await rest.send(
            .GET, "/v2/orders", query: [("status", "open"), ("limit", "500")], member: Self.deskMember)
        let positions = try await rest.send(.GET, "/v2/positions", member: Self.deskMember)
        guard orders.status == 200, positions.status == 200 else {
            let failed = orders.status == 200 ? positions : orders
            throw .unavailable("Alpaca answered \(failed.status): \(failed.errorMessage)")
        }
        do {
            return (
                try JSONDecoder().decode([AlpacaOrder].self, from: Data(orders.body)),
                try JSONDecoder().decode([AlpacaPosition].self, from: Data(positions.body))
            )
        } catch {
            throw .unavailable("Alpaca's account could not be read: \(error)")
        }
    }
}

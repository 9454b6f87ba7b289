import DeskCore
import Foundation

/// What `desk reconcile` found: the ledger against the broker's account.
public struct ReconciliationReport: Codable, Sendable, Equatable {
    /// An open order at the broker that the desk did not place.
    public struct OutsideOrder: Codable, Sendable, Equatable {
        /// The broker's id for it (the JSON name is the one `desk reconcile --json` has always printed).
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
        /// The account's position at the broker.
        public var broker: String
    }

    /// The venue whose account was checked (absent from desks before venues had names).
    public var venue: String?
    public var checked_at: String
    /// Open orders in the ledger, checked at the broker.
    public var open_orders_checked: Int
    /// Events (fills, cancels, expiries) the ledger caught up on.
    public var events_caught_up: Int
    /// Ledger orders the broker has never heard of.
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
        /// The account's equity at the broker, when it says.
        public var broker_equity: String?

        /// The summary of `allocations` next to `brokerEquity`.
        public init(allocations: [String: Decimal], brokerEquity: Decimal?) {
            self.allocations = allocations.mapValues(ExactDecimal.plain)
            allocated = ExactDecimal.plain(allocations.values.reduce(0, +))
            broker_equity = brokerEquity.map(ExactDecimal.plain)
        }
    }

    /// Ledger and account agree.
    public var isClean: Bool {
        unknown_to_broker.isEmpty && outside_orders.isEmpty && position_differences.isEmpty
    }
}

/// The ledger compared with a broker's account. Pure.
public enum Reconciliation {
    /// Compares the ledger (after it caught up) with the account.
    public static func compare(
        deskOrderIds: Set<String>, deskPositions: [String: Decimal], account: BrokerAccount, openOrdersChecked: Int,
        eventsCaughtUp: Int, unknownToBroker: [String], at: Date
    ) -> ReconciliationReport {
        let outside = account.openOrders.filter { !deskOrderIds.contains($0.clientOrderId) }.map {
            ReconciliationReport.OutsideOrder(
                alpaca_id: $0.brokerId, client_order_id: $0.clientOrderId, symbol: $0.symbol, side: $0.side,
                qty: $0.qty.map(ExactDecimal.plain), status: $0.status)
        }
        let symbols = Set(account.positions.keys).union(deskPositions.keys).sorted()
        let differences = symbols.compactMap { symbol -> ReconciliationReport.PositionDifference? in
            let desk = deskPositions[symbol] ?? 0
            let held = account.positions[symbol] ?? 0
            guard desk != held else { return nil }
            return .init(symbol: symbol, desk: ExactDecimal.plain(desk), broker: ExactDecimal.plain(held))
        }
        return ReconciliationReport(
            checked_at: at.formatted(.iso8601), open_orders_checked: openOrdersChecked,
            events_caught_up: eventsCaughtUp, unknown_to_broker: unknownToBroker.sorted(), outside_orders: outside,
            position_differences: differences, capital: nil)
    }
}

/// What `desk reconcile` found on a desk with several venues that reconcile: one report per venue.
public struct VenueReconciliationReports: Codable, Sendable, Equatable {
    public var reports: [ReconciliationReport]

    public init(reports: [ReconciliationReport]) { self.reports = reports }
}

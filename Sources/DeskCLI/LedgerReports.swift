import DeskAPI
import DeskCore
import DeskHTTP
import DeskIdentity
import DeskServices
import Foundation

/// What `desk orders`, `desk positions` and `desk tokens list` print, read
/// straight from the ledger file (works whether or not the server runs).
public enum LedgerReports {
    /// Orders as a table (saying when `query.limit` left some out), or JSON when `json`.
    public static func orders(_ portfolio: Portfolio, query: OrderQuery, json: Bool) async throws -> String {
        let orders = try await portfolio.orders(for: .ledgerOwner, query)
        if json { return try encoded(OrderList(orders: orders.map { OrderView($0) })) }
        var total = orders.count
        if orders.count >= query.limit { total = try await portfolio.orderCount(for: .ledgerOwner, query) }
        let table = TextTable(
            headers: [
                "CREATED", "ORDER", "MEMBER", "STRATEGY", "VENUE", "SIDE", "QTY", "SYMBOL", "TYPE", "STATUS", "FILLED",
                "AVG", "CLASS", "PARENT", "LEGS",
            ],
            rows: orders.map { order in
                [
                    Timestamp.string(order.createdAt), order.orderId, order.member,
                    order.strategy.isEmpty ? "-" : order.strategy, order.venue.isEmpty ? "-" : order.venue,
                    order.side.rawValue, ReportFormat.quantity(order.qty), order.symbol, order.orderType.rawValue,
                    order.status.rawValue, ReportFormat.quantity(order.filledQty),
                    order.filledAvgPrice.map(ReportFormat.price) ?? "-", order.orderClass.rawValue,
                    order.parentId ?? "-", order.legs.isEmpty ? "-" : order.legs.map(\.orderId).joined(separator: ","),
                ]
            })
        let count =
            total > orders.count
            ? "\(orders.count) of \(total) orders shown (newest first); --limit N shows more"
            : "\(orders.count) order(s)"
        return table.render() + "\n" + count
    }

    /// Last prices by symbol, and where they came from (a running desk), for `positions`.
    public struct MarketPrices: Sendable {
        public var prices: [String: Decimal]
        /// Why there are none, when there are none (no desk running, …).
        public var unavailable: String?

        public init(prices: [String: Decimal], unavailable: String? = nil) {
            self.prices = prices
            self.unavailable = unavailable
        }

        /// No prices, and why.
        public static func none(_ reason: String) -> MarketPrices { MarketPrices(prices: [:], unavailable: reason) }

        /// The prices in a `GET /positions` reply (its `market_price` fields).
        public static func from(_ reply: PositionList) -> MarketPrices {
            var prices: [String: Decimal] = [:]
            for row in reply.positions {
                if let text = row.marketPrice, case .success(let price) = ExactDecimal.parse(text) {
                    prices[row.symbol] = price
                }
            }
            return MarketPrices(prices: prices)
        }
    }

    /// Positions (per member, or per strategy; every venue's, or `venue`'s) valued at
    /// the portfolio's last prices (`unavailable`: why there are none), as a table
    /// (money rounded, see `ReportFormat`) or JSON (exact, as the API has it).
    public static func positions(
        _ portfolio: Portfolio, member: String?, venue: String? = nil, byStrategy: Bool, json: Bool,
        unavailable: String?
    ) async throws -> String {
        let holdings = try await portfolio.positions(
            for: .ledgerOwner, member: member, byStrategy: byStrategy, venue: venue)
        if json {
            return try encoded(
                PositionList(
                    positions: holdings.map {
                        PositionView($0.record, lastPrice: $0.lastPrice, byStrategy: byStrategy)
                    }))
        }
        let table = TextTable(
            headers: ["MEMBER"] + (byStrategy ? ["STRATEGY"] : []) + [
                "VENUE", "SYMBOL", "QTY", "AVG ENTRY", "PRICE", "COST", "MARKET VALUE", "REALIZED P&L",
                "UNREALIZED P&L",
            ],
            rows: holdings.map { holding in
                let record = holding.record
                let position = record.position
                let price = holding.lastPrice
                var row = [record.member]
                if byStrategy { row.append(record.strategy.isEmpty ? "-" : record.strategy) }
                row.append(record.venue.isEmpty ? "-" : record.venue)
                row.append(record.symbol)
                row.append(ReportFormat.quantity(position.qty))
                row.append(position.averageEntryPrice.map(ReportFormat.price) ?? "-")
                row.append(price.map(ReportFormat.price) ?? "-")
                row.append(ReportFormat.money(position.costBasis))
                row.append(price.map { ReportFormat.money(position.marketValue(at: $0)) } ?? "-")
                row.append(ReportFormat.pnl(position.realizedPnL))
                row.append(price.map { ReportFormat.pnl(position.unrealizedPnL(at: $0)) } ?? "-")
                return row
            })
        var lines = [table.render()]
        if let reason = unavailable, !holdings.isEmpty {
            lines.append("market prices unknown (\(reason)): PRICE, MARKET VALUE and UNREALIZED P&L show -")
        }
        lines.append("money rounded to cents; exact values with --json")
        return lines.joined(separator: "\n")
    }

    /// Tokens (never their secrets) with their venue and role, as a table or JSON (`GET /admin/tokens`'s shape).
    public static func tokens(_ tokens: TokenAdministration, json: Bool = false) async throws -> String {
        let listed = try await tokens.list(by: .ledgerOwner)
        if json { return try encoded(TokenList(tokens: listed.map { TokenView($0) })) }
        return TextTable(
            headers: ["ID", "MEMBER", "STRATEGY", "KIND", "VENUE", "ISSUED BY", "CREATED", "REVOKED"],
            rows: listed.map { token in
                [
                    "\(token.id)", token.member, token.strategy.isEmpty ? "-" : token.strategy,
                    token.kind.rawValue, token.venue.isEmpty ? "-" : token.venue, token.issuedBy,
                    Timestamp.string(token.createdAt), token.revokedAt.map(Timestamp.string) ?? "-",
                ]
            }
        ).render()
    }
}

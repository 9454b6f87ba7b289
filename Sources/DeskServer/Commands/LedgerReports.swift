import DeskCore
import DeskLedger
import Foundation

/// What `desk orders`, `desk positions` and `desk tokens list` print, read
/// straight from the ledger file (works whether or not the server runs).
public enum LedgerReports {
    /// Orders as a table, or JSON lines when `json`.
    public static func orders(_ ledger: Ledger, query: OrderQuery, json: Bool) async throws -> String {
        let orders = try await ledger.orders(query)
        if json { return try encode(OrderList(orders: orders.map(OrderView.init))) }
        let table = TextTable(
            headers: [
                "CREATED", "ORDER", "MEMBER", "STRATEGY", "SIDE", "QTY", "SYMBOL", "TYPE", "STATUS", "FILLED", "AVG",
            ],
            rows: orders.map { order in
                [
                    Self.time(order.createdAt), order.orderId, order.userId,
                    order.strategy.isEmpty ? "-" : order.strategy,
                    order.side.rawValue, ExactDecimal.plain(order.qty), order.symbol, order.orderType.rawValue,
                    order.status.rawValue, ExactDecimal.plain(order.filledQty),
                    order.filledAvgPrice.map(ExactDecimal.plain) ?? "-",
                ]
            })
        return table.render() + "\n\(orders.count) order(s)"
    }

    /// Positions (per member, or per strategy) as a table, or JSON.
    public static func positions(_ ledger: Ledger, member: String?, byStrategy: Bool, json: Bool) async throws -> String
    {
        let records = try await ledger.positions(member: member, byStrategy: byStrategy)
        if json {
            return try encode(
                PositionList(positions: records.map { PositionView($0, lastPrice: nil, byStrategy: byStrategy) }))
        }
        let table = TextTable(
            headers: ["MEMBER"] + (byStrategy ? ["STRATEGY"] : []) + [
                "SYMBOL", "QTY", "AVG ENTRY", "COST", "REALIZED P&L",
            ],
            rows: records.map { record in
                let position = record.position
                return [record.userId] + (byStrategy ? [record.strategy.isEmpty ? "-" : record.strategy] : []) + [
                    record.symbol, ExactDecimal.plain(position.qty),
                    position.averageEntryPrice.map(ExactDecimal.plain) ?? "-",
                    ExactDecimal.plain(position.costBasis), ExactDecimal.plain(position.realizedPnL),
                ]
            })
        return table.render()
    }

    /// Tokens (never their secrets) as a table.
    public static func tokens(_ ledger: Ledger) throws -> String {
        TextTable(
            headers: ["ID", "MEMBER", "STRATEGY", "ADMIN", "CREATED", "REVOKED"],
            rows: try ledger.tokens().map { token in
                [
                    "\(token.id ?? 0)", token.userId, token.strategy.isEmpty ? "-" : token.strategy,
                    token.isAdmin ? "yes" : "no", time(token.createdAt), token.revokedAt.map(time) ?? "-",
                ]
            }
        ).render()
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try JSONReply.encoder.encode(value), as: UTF8.self)
    }
}

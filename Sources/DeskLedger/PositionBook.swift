import DeskCore
import Foundation
import GRDB

/// Keeps `member_positions` (each member's netted book) and
/// `strategy_positions` (each strategy's own book) in step with fills.
enum PositionBook {
    static func book(order: OrderRecord, qty: Decimal, price: Decimal, at: Date, _ db: Database) throws {
        try bookRow(
            table: "member_positions", keys: ["user_id": order.userId, "symbol": order.symbol], side: order.side,
            qty: qty, price: price, at: at, db)
        try bookRow(
            table: "strategy_positions",
            keys: ["user_id": order.userId, "strategy": order.strategy, "symbol": order.symbol], side: order.side,
            qty: qty, price: price, at: at, db)
    }

    private static func bookRow(
        table: String, keys: [String: String], side: Side, qty: Decimal, price: Decimal, at: Date, _ db: Database
    ) throws {
        let keyNames = keys.keys.sorted()
        let condition = keyNames.map { "\($0) = ?" }.joined(separator: " AND ")
        let keyValues = StatementArguments(keyNames.map { keys[$0]! })
        var position = Position()
        let select = try db.cachedStatement(
            sql: "SELECT qty, cost_basis, realized_pnl FROM \(table) WHERE \(condition)")
        if let row = try Row.fetchOne(select, arguments: keyValues) {
            position = Position(
                qty: try decimal(row, "qty"), costBasis: try decimal(row, "cost_basis"),
                realizedPnL: try decimal(row, "realized_pnl"))
        }
        position.apply(side: side, qty: qty, price: price)
        let columns = keyNames + ["qty", "cost_basis", "realized_pnl", "updated_at"]
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        var arguments = keyValues
        arguments += [
            ExactDecimal.plain(position.qty), ExactDecimal.plain(position.costBasis),
            ExactDecimal.plain(position.realizedPnL), at,
        ]
        let upsert = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))")
        try upsert.execute(arguments: arguments)
    }

    static func fetch(member: String?, byStrategy: Bool, _ db: Database) throws -> [PositionRecord] {
        let table = byStrategy ? "strategy_positions" : "member_positions"
        let strategyColumn = byStrategy ? "strategy" : "'' AS strategy"
        var sql = "SELECT user_id, \(strategyColumn), symbol, qty, cost_basis, realized_pnl, updated_at FROM \(table)"
        var arguments = StatementArguments()
        if let member {
            sql += " WHERE user_id = ?"
            arguments += [member]
        }
        sql += " ORDER BY user_id, \(byStrategy ? "strategy, " : "")symbol"
        return try PositionRecord.fetchAll(db, sql: sql, arguments: arguments)
    }
}

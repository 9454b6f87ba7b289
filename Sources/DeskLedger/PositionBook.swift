import DeskCore
import Foundation
import GRDB
import Synchronization

/// Keeps `member_positions` (each member's netted book) and
/// `strategy_positions` (each strategy's own book) in step with fills, one book
/// per venue (a fill books into its order's venue).
///
/// Positions a fill touched are kept in memory, so booking a fill writes its rows
/// without reading them first. Only the ledger's writer changes these tables; when
/// one of its transactions rolls back, `forget()` drops the memory and rows are
/// read again as needed.
final class PositionBook: Sendable {
    private struct Key: Hashable {
        var member: String
        /// Nil for the member's netted book.
        var strategy: String?
        var venue: String
        var symbol: String
    }

    private let known = Mutex<[Key: Position]>([:])

    /// Books a fill of `order` into the member's and the strategy's positions;
    /// returns the strategy's position (quantity) in the symbol after it.
    @discardableResult
    func book(order: OrderRecord, qty: Decimal, price: Decimal, at: Date, _ db: Database) throws -> Decimal {
        var after = Decimal(0)
        for strategy in [nil, order.strategy] {
            let key = Key(member: order.member, strategy: strategy, venue: order.venue, symbol: order.symbol)
            var position = try known.withLock { $0[key] } ?? Self.read(key, db)
            position.apply(side: order.side, qty: qty, price: price)
            try Self.write(key, position, at: at, db)
            known.withLock { $0[key] = position }
            after = position.qty
        }
        return after
    }

    /// Sets one book's position (a corporate action): the member's netted book when `strategy` is nil.
    func set(
        member: String, strategy: String?, venue: String, symbol: String, _ position: Position, at: Date,
        _ db: Database
    ) throws {
        let key = Key(member: member, strategy: strategy, venue: venue, symbol: symbol)
        try Self.write(key, position, at: at, db)
        known.withLock { $0[key] = position }
    }

    /// Forgets what is in memory (a transaction that changed positions rolled back).
    func forget() { known.withLock { $0.removeAll() } }

    private static func read(_ key: Key, _ db: Database) throws -> Position {
        let row: Row?
        if let strategy = key.strategy {
            let select = try db.cachedStatement(
                sql:
                    "SELECT qty, cost_basis, realized_pnl FROM strategy_positions WHERE member = ? AND strategy = ? AND venue = ? AND symbol = ?"
            )
            row = try Row.fetchOne(select, arguments: [key.member, strategy, key.venue, key.symbol])
        } else {
            let select = try db.cachedStatement(
                sql:
                    "SELECT qty, cost_basis, realized_pnl FROM member_positions WHERE member = ? AND venue = ? AND symbol = ?"
            )
            row = try Row.fetchOne(select, arguments: [key.member, key.venue, key.symbol])
        }
        guard let row else { return Position() }
        return Position(
            qty: try decimal(row, "qty"), costBasis: try decimal(row, "cost_basis"),
            realizedPnL: try decimal(row, "realized_pnl"))
    }

    private static func write(_ key: Key, _ position: Position, at: Date, _ db: Database) throws {
        let figures: StatementArguments = [
            ExactDecimal.plain(position.qty), ExactDecimal.plain(position.costBasis),
            ExactDecimal.plain(position.realizedPnL), LedgerTime.text(at),
        ]
        if let strategy = key.strategy {
            let upsert = try db.cachedStatement(
                sql:
                    "INSERT OR REPLACE INTO strategy_positions (member, strategy, venue, symbol, qty, cost_basis, realized_pnl, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            try upsert.execute(arguments: [key.member, strategy, key.venue, key.symbol] + figures)
        } else {
            let upsert = try db.cachedStatement(
                sql:
                    "INSERT OR REPLACE INTO member_positions (member, venue, symbol, qty, cost_basis, realized_pnl, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )
            try upsert.execute(arguments: [key.member, key.venue, key.symbol] + figures)
        }
    }

    /// Positions of `member` (everyone when nil) on `venue` (every venue when nil), netted or per strategy.
    static func fetch(member: String?, venue: String?, byStrategy: Bool, _ db: Database) throws -> [PositionRecord] {
        let table = byStrategy ? "strategy_positions" : "member_positions"
        let strategyColumn = byStrategy ? "strategy" : "'' AS strategy"
        var sql =
            "SELECT member, \(strategyColumn), venue, symbol, qty, cost_basis, realized_pnl, updated_at FROM \(table)"
        var conditions: [String] = []
        var arguments = StatementArguments()
        if let member {
            conditions.append("member = ?")
            arguments += [member]
        }
        if let venue {
            conditions.append("venue = ?")
            arguments += [venue]
        }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY member, \(byStrategy ? "strategy, " : "")venue, symbol"
        return try PositionRecord.fetchAll(db, sql: sql, arguments: arguments)
    }
}

import DeskCore
import Foundation
import GRDB

/// The venue books' storage (migration `v10-venue-books`): orders and fills carry
/// the venue they went to; positions (the member's and each strategy's) and the
/// P&L history are kept per venue, so a member's paper and live books never mix.
///
/// The migration does not guess a venue: rows written before venues get the empty
/// venue, and `Ledger.adoptUnassignedRows(venue:)`, called by the composition root
/// at open with the desk's default venue, gives them that venue once.
enum VenueBooksTables {
    /// The tables whose rows carry a venue, in the order adoption updates them.
    static let tables = ["orders", "fills", "member_positions", "strategy_positions", PnLHistoryTable.table]

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10-venue-books") { db in
            for table in ["orders", "fills"] {
                try db.alter(table: table) { t in t.add(column: "venue", .text).notNull().defaults(to: "") }
            }
            try db.create(index: "orders_by_venue", on: "orders", columns: ["venue", "status"])
            // A primary key cannot be altered: the position and history tables are rebuilt with the venue in it.
            for (table, keys) in [
                ("member_positions", ["member", "venue", "symbol"]),
                ("strategy_positions", ["member", "strategy", "venue", "symbol"]),
            ] {
                try db.create(table: table + "_v10") { t in
                    t.column("member", .text).notNull()
                    if keys.contains("strategy") { t.column("strategy", .text).notNull() }
                    t.column("venue", .text).notNull().defaults(to: "")
                    t.column("symbol", .text).notNull()
                    t.column("qty", .text).notNull()
                    t.column("cost_basis", .text).notNull()
                    t.column("realized_pnl", .text).notNull()
                    t.column("updated_at", .datetime).notNull()
                    t.primaryKey(keys)
                }
                let columns =
                    (keys.contains("strategy") ? "member, strategy" : "member")
                    + ", symbol, qty, cost_basis, realized_pnl, updated_at"
                try db.execute(sql: "INSERT INTO \(table)_v10 (\(columns)) SELECT \(columns) FROM \(table)")
                try db.drop(table: table)
                try db.rename(table: table + "_v10", to: table)
            }
            let history = PnLHistoryTable.table
            try db.create(table: history + "_v10") { t in
                t.column("member", .text).notNull()
                t.column("strategy", .text).notNull()
                t.column("venue", .text).notNull().defaults(to: "")
                t.column("minute", .integer).notNull()
                t.column("at", .datetime).notNull()
                t.column("realized_pnl", .text).notNull()
                t.column("unrealized_pnl", .text).notNull()
                t.primaryKey(["member", "strategy", "venue", "minute"])
            }
            let columns = "member, strategy, minute, at, realized_pnl, unrealized_pnl"
            try db.execute(sql: "INSERT INTO \(history)_v10 (\(columns)) SELECT \(columns) FROM \(history)")
            try db.drop(table: history)
            try db.rename(table: history + "_v10", to: history)
            try db.create(index: "pnl_history_at", on: history, columns: ["at"])
        }
    }
}

extension Ledger {
    /// Gives every row written before venues (orders, fills, positions, P&L
    /// history with an empty venue) the venue `venue`, in one transaction;
    /// returns how many rows each table changed (tables without any are left out).
    /// The composition root calls it at open with the desk's default venue, which
    /// is where every order before venues went.
    @discardableResult
    public func adoptUnassignedRows(venue: String) async throws -> [String: Int] {
        let adopted = try await database.write { db in
            var changed: [String: Int] = [:]
            for table in VenueBooksTables.tables {
                try db.execute(sql: "UPDATE \(table) SET venue = ? WHERE venue = ''", arguments: [venue])
                if db.changesCount > 0 { changed[table] = db.changesCount }
            }
            return changed
        }
        if !adopted.isEmpty { positionBook.forget() }
        return adopted
    }
}

extension Ledger {
    /// Every venue the ledger has an order or a position on, in name order.
    public func venues() async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT venue FROM orders UNION SELECT venue FROM member_positions ORDER BY venue")
        }
    }
}

import DeskCore
import Foundation
import GRDB

/// The P&L history's storage. One row per member (and per strategy) per venue per
/// minute at most (the venue is in the key since `v10-venue-books`): a sample in a minute that already has one replaces it, so a
/// member has at most 1,440 rows a day for their book and 1,440 for each of
/// their strategies, and `prune` drops rows older than the retention.
enum PnLHistoryTable {
    static let table = "pnl_history"
    /// Rows are per minute.
    static let bucketSeconds = 60.0

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-pnl-history") { db in
            // Decimals as TEXT, as everywhere in the ledger.
            try db.create(table: table) { t in
                t.column("member", .text).notNull()
                t.column("strategy", .text).notNull()
                t.column("minute", .integer).notNull()
                t.column("at", .datetime).notNull()
                t.column("realized_pnl", .text).notNull()
                t.column("unrealized_pnl", .text).notNull()
                t.primaryKey(["member", "strategy", "minute"])
            }
            try db.create(index: "pnl_history_at", on: table, columns: ["at"])
        }
    }
}

extension Ledger {
    /// Records `samples`, each in its minute (replacing that minute's earlier sample).
    public func recordEquity(_ samples: [EquitySample]) async throws {
        guard !samples.isEmpty else { return }
        try await database.write { db in
            for sample in samples {
                try db.execute(
                    sql: """
                        INSERT INTO pnl_history (member, strategy, venue, minute, at, realized_pnl, unrealized_pnl)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (member, strategy, venue, minute) DO UPDATE SET
                          at = excluded.at, realized_pnl = excluded.realized_pnl, unrealized_pnl = excluded.unrealized_pnl
                        """,
                    arguments: [
                        sample.member, sample.strategy, sample.venue,
                        Int64((sample.at.timeIntervalSince1970 / PnLHistoryTable.bucketSeconds).rounded(.down)),
                        sample.at, ExactDecimal.plain(sample.realizedPnL), ExactDecimal.plain(sample.unrealizedPnL),
                    ])
            }
        }
    }

    /// `member`'s equity samples on `venue` (one strategy's when given, else their
    /// book's) at or after `since`, oldest first.
    public func equityHistory(member: String, strategy: String = "", venue: String, since: Date) async throws
        -> [EquitySample]
    {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT at, realized_pnl, unrealized_pnl FROM pnl_history
                    WHERE member = ? AND strategy = ? AND venue = ? AND at >= ? ORDER BY minute
                    """,
                arguments: [member, strategy, venue, since]
            ).map { row in
                EquitySample(
                    member: member, strategy: strategy, at: row["at"],
                    realizedPnL: try decimal(row, "realized_pnl"), unrealizedPnL: try decimal(row, "unrealized_pnl"),
                    venue: venue)
            }
        }
    }

    /// The last sample of `member`'s book on `venue` before `time` (the equity a day started from).
    public func equity(member: String, venue: String, before time: Date) async throws -> EquitySample? {
        try await database.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT at, realized_pnl, unrealized_pnl FROM pnl_history
                    WHERE member = ? AND strategy = '' AND venue = ? AND at < ? ORDER BY minute DESC LIMIT 1
                    """,
                arguments: [member, venue, time]
            ).map { row in
                EquitySample(
                    member: member, strategy: "", at: row["at"],
                    realizedPnL: try decimal(row, "realized_pnl"), unrealizedPnL: try decimal(row, "unrealized_pnl"),
                    venue: venue)
            }
        }
    }

    /// Drops samples older than `time`; returns how many.
    @discardableResult
    public func pruneEquity(before time: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM pnl_history WHERE at < ?", arguments: [time])
            return db.changesCount
        }
    }
}

import DeskCore
import Foundation
import GRDB

/// Storage of the loss rules' session marks: each book's equity when the trading session began
/// (what `max_daily_loss` counts from), so a restart in the middle of a session does not forget
/// the day's losses. One row per book (member, strategy or "" for the member's book, venue), for
/// the session ending at `session_ends`; a row of an earlier session no longer counts.
enum LossMarksTable {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v12-loss-session-marks") { db in
            // Decimals as TEXT, as everywhere in the ledger.
            try db.create(table: "loss_session_marks") { t in
                t.column("member", .text).notNull()
                t.column("strategy", .text).notNull()
                t.column("venue", .text).notNull()
                t.column("session_ends", .datetime).notNull()
                t.column("equity", .text).notNull()
                t.primaryKey(["member", "strategy", "venue"])
            }
        }
    }
}

/// A book's equity at the start of the session that ends at `sessionEnds`.
public struct SessionEquityMark: Sendable, Equatable {
    public var member: String
    /// Empty for the member's whole book.
    public var strategy: String
    public var venue: String
    public var sessionEnds: Date
    public var equity: Decimal

    public init(member: String, strategy: String, venue: String, sessionEnds: Date, equity: Decimal) {
        self.member = member
        self.strategy = strategy
        self.venue = venue
        self.sessionEnds = sessionEnds
        self.equity = equity
    }
}

extension Ledger {
    /// Records `mark` (replacing the book's mark of an earlier session).
    public func recordSessionEquity(_ mark: SessionEquityMark) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO loss_session_marks (member, strategy, venue, session_ends, equity)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (member, strategy, venue) DO UPDATE SET
                      session_ends = excluded.session_ends, equity = excluded.equity
                    """,
                arguments: [
                    mark.member, mark.strategy, mark.venue, LedgerTime.text(mark.sessionEnds),
                    ExactDecimal.plain(mark.equity),
                ])
        }
    }

    /// The marks of the session that ends at `sessionEnds`.
    public func sessionEquities(sessionEnds: Date) async throws -> [SessionEquityMark] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT member, strategy, venue, equity FROM loss_session_marks WHERE session_ends = ?",
                arguments: [LedgerTime.text(sessionEnds)]
            ).map { row in
                SessionEquityMark(
                    member: row["member"], strategy: row["strategy"], venue: row["venue"], sessionEnds: sessionEnds,
                    equity: try decimal(row, "equity"))
            }
        }
    }
}

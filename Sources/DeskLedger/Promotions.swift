import DeskCore
import Foundation
import GRDB

/// Where strategies run and the promotions between venues: tables `approvals`
/// (one row per request that waited for an officer) and `strategy_venues` (a
/// strategy's venue when it is not the desk's default). An approval and the
/// strategy's new venue are written in one transaction, so a desk stopped at any
/// point has the strategy on exactly one venue.
enum PromotionTables {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-venues-and-approvals") { db in
            try db.create(table: "approvals") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("member", .text).notNull()
                t.column("strategy", .text).notNull()
                t.column("from_venue", .text).notNull()
                t.column("to_venue", .text).notNull()
                t.column("requested_by", .text).notNull()
                t.column("requested_at", .datetime).notNull()
                t.column("status", .text).notNull()
                t.column("decided_by", .text)
                t.column("decided_at", .datetime)
                t.column("reason", .text)
                // The evidence as it stood at the request; decimals as TEXT, as everywhere in the ledger.
                t.column("evidence_venue", .text).notNull()
                t.column("evidence_days", .integer).notNull()
                t.column("evidence_orders", .integer).notNull()
                t.column("evidence_fills", .integer).notNull()
                t.column("evidence_pnl", .text).notNull()
                t.column("evidence_max_drawdown", .text).notNull()
                t.column("evidence_sharpe", .text)
                t.column("evidence_backtest", .text)
            }
            // At most one request waits per strategy, whatever races.
            try db.execute(
                sql: "CREATE UNIQUE INDEX approvals_one_pending ON approvals (strategy) WHERE status = 'pending'")
            try db.create(index: "approvals_by_status", on: "approvals", columns: ["status", "id"])
            try db.create(table: "strategy_venues") { t in
                t.primaryKey("strategy", .text)
                t.column("member", .text).notNull()
                t.column("venue", .text).notNull()
                t.column("since", .datetime).notNull()
                t.column("moved_by", .text).notNull()
            }
        }
    }
}

/// Why a promotion could not be written.
public enum PromotionWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another request of the strategy already waits.
    case alreadyPending(strategy: String)
    /// The request was decided (or is unknown) by the time this decision was written.
    case notPending(id: Int64)

    public var description: String {
        switch self {
        case .alreadyPending(let strategy): "strategy \(strategy) already waits for an approval"
        case .notPending(let id): "approval \(id) is no longer pending"
        }
    }
}

extension Ledger {
    /// The venue each strategy was moved to; a strategy not listed runs on the desk's default venue.
    public func strategyVenues() async throws -> [String: String] {
        try await database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT strategy, venue FROM strategy_venues")
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["strategy"] as String, $0["venue"] as String) })
        }
    }

    /// The venue `strategy` was moved to, if it was (nil: it runs on the desk's default venue).
    public func strategyVenue(_ strategy: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT venue FROM strategy_venues WHERE strategy = ?", arguments: [strategy])
        }
    }

    /// The orders and fills of `member`'s `strategy` on `venue`, oldest first (a row
    /// with no venue is `defaultVenue`'s: it was booked before the ledger kept venues).
    public func strategyActivity(member: String, strategy: String, venue: String, defaultVenue: String) async throws
        -> (orders: [OrderRecord], fills: [FillRecord])
    {
        @Sendable func here(_ rowVenue: String) -> Bool {
            rowVenue == venue || (rowVenue.isEmpty && venue == defaultVenue)
        }
        return try await database.read { db in
            let mine = Column("member") == member && Column("strategy") == strategy
            let orders = try OrderRecord.filter(mine).order(Column("created_at"), Column("order_id")).fetchAll(db)
            let fills = try FillRecord.filter(mine).order(Column("id")).fetchAll(db)
            return (orders.filter { here($0.venue) }, fills.filter { here($0.venue) })
        }
    }

    /// Moves `strategy` to `venue` at once (a move that needs no approval), with its audit line.
    public func moveStrategy(
        _ strategy: String, member: String, to venue: String, by: String, at: Date, audit: AuditEvent
    ) async throws {
        try await database.write { db in
            try Self.place(strategy, member: member, on: venue, by: by, at: at, db)
            try audit.insert(db)
        }
    }

    /// Records a request waiting for approval, with its audit line; returns it with its id.
    /// Throws `PromotionWriteError.alreadyPending` when one waits already (checked by the
    /// database, so two racing requests cannot both wait).
    public func addPromotionRequest(_ request: PromotionRequest, audit: AuditEvent) async throws -> PromotionRequest {
        do {
            return try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO approvals (member, strategy, from_venue, to_venue, requested_by, requested_at, status,
                          evidence_venue, evidence_days, evidence_orders, evidence_fills, evidence_pnl,
                          evidence_max_drawdown, evidence_sharpe, evidence_backtest)
                        VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        request.member, request.strategy, request.fromVenue, request.toVenue, request.requestedBy,
                        request.requestedAt, request.evidence.venue, request.evidence.days, request.evidence.orders,
                        request.evidence.fills, ExactDecimal.plain(request.evidence.pnl),
                        ExactDecimal.plain(request.evidence.maxDrawdown),
                        request.evidence.sharpe.map(ExactDecimal.plain),
                        request.evidence.backtest,
                    ])
                var stored = request
                stored.id = db.lastInsertedRowID
                stored.status = .pending
                var line = audit
                line.detail = "approval=\(stored.id) " + (audit.detail ?? "")
                try line.insert(db)
                return stored
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw PromotionWriteError.alreadyPending(strategy: request.strategy)
        }
    }

    /// Writes a decision on a pending request, with its audit line; an approval moves
    /// the strategy to the request's venue in the same transaction. Throws
    /// `PromotionWriteError.notPending` when another decision came first.
    public func decidePromotion(_ decided: PromotionRequest, audit: AuditEvent) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, reason = ?
                    WHERE id = ? AND status = 'pending'
                    """,
                arguments: [decided.status.rawValue, decided.decidedBy, decided.decidedAt, decided.reason, decided.id])
            guard db.changesCount == 1 else { throw PromotionWriteError.notPending(id: decided.id) }
            if decided.status == .approved {
                try Self.place(
                    decided.strategy, member: decided.member, on: decided.toVenue, by: decided.decidedBy ?? "",
                    at: decided.decidedAt ?? Date(), db)
            }
            try audit.insert(db)
        }
    }

    /// One request, if it exists.
    public func promotionRequest(id: Int64) async throws -> PromotionRequest? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM approvals WHERE id = ?", arguments: [id]).map(Self.request)
        }
    }

    /// Requests, newest first: those with `status`, or all.
    public func promotionRequests(status: PromotionStatus? = nil, strategy: String? = nil, limit: Int = 500)
        async throws -> [PromotionRequest]
    {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let status {
                conditions.append("status = ?")
                arguments += [status.rawValue]
            }
            if let strategy {
                conditions.append("strategy = ?")
                arguments += [strategy]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [max(1, limit)]
            return try Row.fetchAll(
                db, sql: "SELECT * FROM approvals \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments
            ).map(Self.request)
        }
    }

    private static func place(
        _ strategy: String, member: String, on venue: String, by: String, at: Date, _ db: Database
    )
        throws
    {
        try db.execute(
            sql: """
                INSERT INTO strategy_venues (strategy, member, venue, since, moved_by) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (strategy) DO UPDATE SET
                  member = excluded.member, venue = excluded.venue, since = excluded.since, moved_by = excluded.moved_by
                """,
            arguments: [strategy, member, venue, at, by])
    }

    private static func request(_ row: Row) throws -> PromotionRequest {
        guard let status = PromotionStatus(rawValue: row["status"]) else {
            throw LedgerError.corrupt("approvals.status = \(String(describing: row["status"] as DatabaseValue))")
        }
        return PromotionRequest(
            id: row["id"], member: row["member"], strategy: row["strategy"], fromVenue: row["from_venue"],
            toVenue: row["to_venue"], requestedBy: row["requested_by"], requestedAt: row["requested_at"],
            evidence: PromotionEvidence(
                venue: row["evidence_venue"], days: row["evidence_days"], orders: row["evidence_orders"],
                fills: row["evidence_fills"], pnl: try decimal(row, "evidence_pnl"),
                maxDrawdown: try decimal(row, "evidence_max_drawdown"),
                sharpe: try optionalDecimal(row, "evidence_sharpe"), backtest: row["evidence_backtest"]),
            status: status, decidedBy: row["decided_by"], decidedAt: row["decided_at"], reason: row["reason"])
    }
}

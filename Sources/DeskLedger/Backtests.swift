import Foundation
import GRDB

/// The backtests members submitted to the desk (migration `v15-backtests`): one row
/// per backtest, from its submission to its end, so a restart keeps the queued ones
/// queued and knows which were running.
enum BacktestsTable {
    static let table = "backtests"

    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v15-backtests") { db in
            try db.create(table: table) { t in
                t.column("id", .text).primaryKey()
                t.column("member", .text).notNull()
                t.column("strategy", .text).notNull()
                // queued | running | completed | failed | canceled
                t.column("status", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("started_at", .datetime)
                t.column("ended_at", .datetime)
                // Exact decimal text, as every number in the ledger.
                t.column("cpu_seconds", .text)
                t.column("error", .text)
                // The backtest's work folder (`<research data folder>/backtests/<id>`).
                t.column("work", .text).notNull()
                // The submission's options as the child's `desk backtest` arguments (a JSON array).
                t.column("options", .text).notNull()
            }
            try db.create(index: "backtests_by_member", on: table, columns: ["member", "created_at"])
        }
    }
}

/// A submitted backtest as the ledger keeps it.
public struct BacktestRecord: Sendable, Equatable {
    public var id: String
    public var member: String
    public var strategy: String
    /// `queued`, `running`, `completed`, `failed` or `canceled`.
    public var status: String
    public var createdAt: Date
    public var startedAt: Date?
    public var endedAt: Date?
    public var cpuSeconds: Decimal?
    public var error: String?
    public var work: String
    /// The child `desk backtest`'s arguments (after the program's name).
    public var options: [String]

    public init(
        id: String, member: String, strategy: String, status: String, createdAt: Date, startedAt: Date? = nil,
        endedAt: Date? = nil, cpuSeconds: Decimal? = nil, error: String? = nil, work: String, options: [String]
    ) {
        self.id = id
        self.member = member
        self.strategy = strategy
        self.status = status
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.cpuSeconds = cpuSeconds
        self.error = error
        self.work = work
        self.options = options
    }
}

extension Ledger {
    /// Records a new backtest, or its new state (by id).
    public func saveBacktest(_ record: BacktestRecord) async throws {
        let options = String(decoding: try JSONEncoder().encode(record.options), as: UTF8.self)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO backtests (id, member, strategy, status, created_at, started_at, ended_at,
                      cpu_seconds, error, work, options)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, started_at = excluded.started_at,
                      ended_at = excluded.ended_at, cpu_seconds = excluded.cpu_seconds, error = excluded.error
                    """,
                arguments: [
                    record.id, record.member, record.strategy, record.status, LedgerTime.text(record.createdAt),
                    record.startedAt.map(LedgerTime.text), record.endedAt.map(LedgerTime.text),
                    record.cpuSeconds.map { "\($0)" }, record.error, record.work, options,
                ])
        }
    }

    /// Every backtest, oldest first.
    public func backtests() async throws -> [BacktestRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM backtests ORDER BY created_at, id").map { row in
                let options: String = row["options"]
                return BacktestRecord(
                    id: row["id"], member: row["member"], strategy: row["strategy"], status: row["status"],
                    createdAt: row["created_at"], startedAt: row["started_at"], endedAt: row["ended_at"],
                    cpuSeconds: (row["cpu_seconds"] as String?).flatMap { Decimal(string: $0) }, error: row["error"],
                    work: row["work"],
                    options: (try? JSONDecoder().decode([String].self, from: Data(options.utf8))) ?? [])
            }
        }
    }
}

import Foundation
import GRDB

/// How hard a ledger holds on to each commit.
public enum LedgerDurability: String, Sendable, CaseIterable {
    /// Every commit is on disk when it returns (`synchronous = FULL`): a live desk's
    /// acknowledged order survives power loss, not only kill -9.
    case full
    /// A backtest's throwaway ledger: no fsync per commit (`synchronous = OFF`, still
    /// WAL, so kill -9 of the desk loses nothing); when it closes, one checkpoint and one
    /// fsync make the kept file whole. Only a crash of the machine mid-run can damage it,
    /// and that run had failed anyway.
    case backtest

    /// The `PRAGMA synchronous` level each commit runs with.
    var synchronous: String {
        switch self {
        case .full: "FULL"
        case .backtest: "OFF"
        }
    }
}

/// Opens the desk's SQLite file (WAL, full fsync on commit unless it is a
/// backtest's) and keeps its schema current. One `DatabasePool` per file per process.
enum LedgerDatabase {
    /// Opens (creating if needed) the database at `path`, checks it (`PRAGMA
    /// quick_check`: every page of the file is read once, so a damaged ledger is
    /// refused before anything is written to it) and migrates it; with
    /// `readOnly`, opens an existing one for reading (migrating it first only when
    /// an older desk wrote it). `durability` sets how each commit reaches the disk.
    static func open(path: String, readOnly: Bool = false, durability: LedgerDurability = .full) throws
        -> DatabasePool
    {
        var configuration = Configuration()
        configuration.label = "desk-ledger"
        // Another process (the desk CLI) may hold the write lock for a moment.
        configuration.busyMode = .timeout(10)
        if readOnly {
            configuration.readonly = true
            let pool = try DatabasePool(path: path, configuration: configuration)
            if try pool.read({ db in try migrator.hasCompletedMigrations(db) }) { return pool }
            // Written by an older desk: bring its schema up to date, then read.
            _ = try open(path: path)
            return try DatabasePool(path: path, configuration: configuration)
        }
        configuration.journalMode = .wal
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // FULL: a commit is on disk when it returns (power loss, not only kill -9);
            // OFF (a backtest): on disk when the ledger closes (`Ledger.makeWhole`). Set on the
            // pool's one writer once it is open: GRDB's WAL set-up sets NORMAL after
            // `prepareDatabase` (a FULL set there never reached a commit).
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(durability.synchronous)")
            }
            let problems = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(\(reportedProblems))")
            }
            if problems != ["ok"] { throw LedgerError.damaged(path: path, problems: problems) }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw LedgerError.damaged(path: path, problems: [error.message ?? "\(error.resultCode)"])
        }
        try migrator.migrate(pool)
        // The quick check's reader connection still knows the schema from before the
        // migration; a statement it prepares would read the old columns (`SELECT *`
        // without a column a migration added). Readers opened from now on know the new one.
        pool.invalidateReadOnlyConnections()
        return pool
    }

    /// The most problems a damaged ledger's refusal lists.
    static let reportedProblems = 5

    /// A migrated database in memory, for unit tests (nothing is durable).
    static func inMemory() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "desk-ledger-memory"
        let queue = try DatabaseQueue(configuration: configuration)
        try migrator.migrate(queue)
        return queue
    }

    /// Named migrations; never edit one that has shipped, add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-orders-fills-positions-tokens-audit") { db in
            // Decimal columns are TEXT so SQLite never turns them into floating point.
            try db.create(table: "orders") { t in
                t.primaryKey("order_id", .text)
                t.column("user_id", .text).notNull()
                t.column("strategy", .text).notNull().defaults(to: "")
                t.column("symbol", .text).notNull()
                t.column("qty", .text).notNull()
                t.column("side", .text).notNull()
                t.column("order_type", .text).notNull()
                t.column("time_in_force", .text).notNull()
                t.column("limit_price", .text)
                t.column("stop_price", .text)
                t.column("status", .text).notNull()
                t.column("filled_qty", .text).notNull().defaults(to: "0")
                t.column("filled_notional", .text).notNull().defaults(to: "0")
                t.column("filled_avg_price", .text)
                t.column("reject_reason", .text)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "orders_by_member", on: "orders", columns: ["user_id", "created_at"])
            try db.create(index: "orders_by_status", on: "orders", columns: ["status"])

            try db.create(table: "fills") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("order_id", .text).notNull().references("orders", column: "order_id")
                t.column("fill_id", .text).notNull()
                t.column("user_id", .text).notNull()
                t.column("strategy", .text).notNull()
                t.column("symbol", .text).notNull()
                t.column("side", .text).notNull()
                t.column("qty", .text).notNull()
                t.column("price", .text).notNull()
                t.column("filled_at", .datetime).notNull()
                t.uniqueKey(["order_id", "fill_id"])
            }
            try db.create(index: "fills_by_member", on: "fills", columns: ["user_id", "filled_at"])

            for (table, keys) in [
                ("member_positions", ["user_id", "symbol"]),
                ("strategy_positions", ["user_id", "strategy", "symbol"]),
            ] {
                try db.create(table: table) { t in
                    t.column("user_id", .text).notNull()
                    if keys.contains("strategy") { t.column("strategy", .text).notNull() }
                    t.column("symbol", .text).notNull()
                    t.column("qty", .text).notNull()
                    t.column("cost_basis", .text).notNull()
                    t.column("realized_pnl", .text).notNull()
                    t.column("updated_at", .datetime).notNull()
                    t.primaryKey(keys)
                }
            }

            try db.create(table: "tokens") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("token_hash", .text).notNull().unique()
                t.column("user_id", .text).notNull()
                t.column("strategy", .text).notNull().defaults(to: "")
                t.column("is_admin", .boolean).notNull().defaults(to: false)
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }

            try db.create(table: "audit_events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("user_id", .text)
                t.column("strategy", .text)
                t.column("action", .text).notNull()
                t.column("order_id", .text)
                t.column("outcome", .text).notNull()
                t.column("http_status", .integer)
                t.column("detail", .text)
            }
            try db.create(index: "audit_by_member", on: "audit_events", columns: ["user_id", "at"])

            try db.create(table: "halts") { t in
                t.primaryKey("scope", .text)
                t.column("reason", .text)
                t.column("halted_by", .text)
                t.column("halted_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2-strategies") { db in
            try db.create(table: "strategies") { t in
                t.primaryKey("name", .text)
                t.column("user_id", .text).notNull()
                t.column("desired_running", .boolean).notNull()
                t.column("state", .text).notNull()
                t.column("restarts", .integer).notNull().defaults(to: 0)
                t.column("pid", .integer)
                t.column("started_at", .datetime)
                t.column("last_exit", .text)
                t.column("failure", .text)
                t.column("updated_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v3-token-issuer-and-metrics-scope") { db in
            try db.alter(table: "tokens") { t in
                // Who issued the token: "cli" (desk tokens issue), "desk" (the admin
                // token file) or "supervisor" (a strategy's per-start token, revoked
                // at the next desk start if a kill -9 left it live).
                t.add(column: "issued_by", .text).notNull().defaults(to: "cli")
                // A token that may read /metrics and nothing else.
                t.add(column: "metrics_only", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v4-strategy-users") { db in
            // One uid per strategy name, never given to another: uids are how the
            // kernel keeps strategies apart.
            try db.create(table: "strategy_users") { t in
                t.primaryKey("strategy", .text)
                t.column("uid", .integer).notNull().unique()
                t.column("allocated_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v5-member-status-reason-no-strategy") { db in
            // One word for the person who owns orders: member (was user_id).
            for table in ["orders", "fills", "member_positions", "strategy_positions", "tokens", "strategies"] {
                try db.alter(table: table) { t in t.rename(column: "user_id", to: "member") }
            }
            // The column holds the reason for any status (rejected or canceled).
            try db.alter(table: "orders") { t in t.rename(column: "reject_reason", to: "status_reason") }
            // "No strategy" is '' in every table: audit_events had NULL.
            try db.create(table: "audit_events_v5") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("member", .text)
                t.column("strategy", .text).notNull().defaults(to: "")
                t.column("action", .text).notNull()
                t.column("order_id", .text)
                t.column("outcome", .text).notNull()
                t.column("http_status", .integer)
                t.column("detail", .text)
            }
            try db.execute(
                sql: """
                    INSERT INTO audit_events_v5 (id, at, member, strategy, action, order_id, outcome, http_status, detail)
                    SELECT id, at, user_id, COALESCE(strategy, ''), action, order_id, outcome, http_status, detail
                    FROM audit_events
                    """)
            try db.drop(table: "audit_events")
            try db.rename(table: "audit_events_v5", to: "audit_events")
            try db.create(index: "audit_by_member", on: "audit_events", columns: ["member", "at"])
        }
        migrator.registerMigration("v6-client-order-ids") { db in
            // The /v2 API's client_order_id: unique per member, reserved before the
            // order is placed, bound to the desk's order id once it is.
            try db.create(table: "client_order_ids") { t in
                t.column("member", .text).notNull()
                t.column("client_order_id", .text).notNull()
                t.column("order_id", .text)
                t.column("reserved_at", .datetime).notNull()
                t.primaryKey(["member", "client_order_id"])
            }
            try db.create(index: "client_order_ids_by_order", on: "client_order_ids", columns: ["order_id"])
        }
        PnLHistoryTable.register(in: &migrator)
        PromotionTables.register(in: &migrator)
        migrator.registerMigration("v9-token-venue-and-officer") { db in
            // A token trades on one venue (empty: the desk's default venue, as every token before venues did);
            // an officer's token approves promotions, halts and resumes, and reads every member's figures.
            try db.alter(table: "tokens") { t in
                t.add(column: "venue", .text).notNull().defaults(to: "")
                t.add(column: "officer", .boolean).notNull().defaults(to: false)
            }
        }
        VenueBooksTables.register(in: &migrator)
        LossMarksTable.register(in: &migrator)
        migrator.registerMigration("v13-order-classes") { db in
            // Issue 26: an order's class, its exits (legs: orders whose parent_id is the
            // entry's, or the oco's take profit), trailing stops, notional and extended hours.
            try db.alter(table: "orders") { t in
                t.add(column: "order_class", .text).notNull().defaults(to: "simple")
                t.add(column: "parent_id", .text)
                t.add(column: "trail_price", .text)
                t.add(column: "trail_percent", .text)
                t.add(column: "notional", .text)
                t.add(column: "extended_hours", .boolean).notNull().defaults(to: false)
                // The order this one replaced (`PATCH /v2/orders/{id}`).
                t.add(column: "replaces", .text)
            }
            try db.create(index: "orders_by_parent", on: "orders", columns: ["parent_id"])
        }
        CorporateActionsTable.register(in: &migrator)
        BacktestsTable.register(in: &migrator)
        return migrator
    }
}

import DeskCore
import Foundation
import GRDB

extension Ledger {
    /// Every stored strategy state (a state this desk does not know reads as stopped).
    public func strategyStates() async throws -> [StrategyStateRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM strategies ORDER BY name").map { row in
                StrategyStateRecord(
                    name: row["name"], member: row["member"], desiredRunning: row["desired_running"],
                    state: StrategyRunState(rawValue: row["state"]) ?? .stopped, restarts: row["restarts"],
                    pid: row["pid"], startedAt: row["started_at"], lastExit: row["last_exit"], failure: row["failure"])
            }
        }
    }

    /// Stores one strategy's state.
    public func saveStrategyState(_ row: StrategyStateRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO strategies
                    (name, member, desired_running, state, restarts, pid, started_at, last_exit, failure, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    row.name, row.member, row.desiredRunning, row.state.rawValue, row.restarts, row.pid, row.startedAt,
                    row.lastExit, row.failure, Date(),
                ])
        }
    }

    /// Forgets a strategy's stored state (its folder is gone).
    public func removeStrategyState(name: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM strategies WHERE name = ?", arguments: [name])
        }
    }

    /// The uid strategy `name` runs as. The first call allocates the lowest uid
    /// from `base` to `last` that no strategy holds now and that `claim` accepts
    /// (the machine-wide claims: no other desk's), in one transaction, so two
    /// strategies can never be given the same one; a uid released with
    /// `releaseStrategyUID` is given again. A remembered uid that `claim` refuses
    /// (another desk claimed it first) is retired and replaced.
    public func strategyUID(
        for name: String, base: UInt32, last: UInt32 = UInt32.max - 2,
        claim: @Sendable (UInt32) throws -> Bool = { _ in true }
    ) async throws -> UInt32 {
        try await database.write { db in
            if let known = try Int64.fetchOne(
                db, sql: "SELECT uid FROM strategy_users WHERE strategy = ?", arguments: [name])
            {
                if try claim(UInt32(known)) { return UInt32(known) }
                try db.execute(sql: "DELETE FROM strategy_users WHERE strategy = ?", arguments: [name])
                try db.execute(
                    sql: "INSERT INTO strategy_users (strategy, uid, allocated_at) VALUES (?, ?, ?)",
                    arguments: ["retired uid \(known)", known, Date()])
            }
            let taken = Set(
                try Int64.fetchAll(
                    db, sql: "SELECT uid FROM strategy_users WHERE uid BETWEEN ? AND ?",
                    arguments: [Int64(base), Int64(last)]))
            var next = Int64(base)
            while true {
                guard next <= Int64(last) else { throw LedgerError.exhausted("strategy uids (\(base)-\(last))") }
                if !taken.contains(next), try claim(UInt32(next)) { break }
                next += 1
            }
            try db.execute(
                sql: "INSERT INTO strategy_users (strategy, uid, allocated_at) VALUES (?, ?, ?)",
                arguments: [name, next, Date()])
            return UInt32(next)
        }
    }

    /// Gives strategy `name`'s uid back (the strategy is gone); returns it, if it had one.
    @discardableResult
    public func releaseStrategyUID(for name: String) async throws -> UInt32? {
        try await database.write { db in
            let known = try Int64.fetchOne(
                db, sql: "SELECT uid FROM strategy_users WHERE strategy = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM strategy_users WHERE strategy = ?", arguments: [name])
            return known.map { UInt32($0) }
        }
    }

    /// Orders placed per (member, strategy).
    public func orderCountsByStrategy() async throws -> [String: Int] {
        try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql:
                    "SELECT member, strategy, COUNT(*) AS n FROM orders WHERE strategy != '' GROUP BY member, strategy"
            ) {
                counts["\(row["member"] as String)/\(row["strategy"] as String)"] = row["n"]
            }
            return counts
        }
    }
}

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

    /// The uid strategy `name` runs as. The first call allocates the next uid
    /// (≥ `base`) that no strategy has ever had and that `claim` accepts (the
    /// machine-wide claims: no other desk's), in one transaction, so two
    /// strategies can never be given the same one and a uid is never reused. A
    /// remembered uid that `claim` refuses (another desk claimed it first) is
    /// replaced by a new one.
    public func strategyUID(
        for name: String, base: UInt32, claim: @Sendable (UInt32) throws -> Bool = { _ in true }
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
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(uid) FROM strategy_users") ?? 0
            var next = max(Int64(base), highest + 1)
            while true {
                guard next < Int64(UInt32.max) - 1 else { throw LedgerError.exhausted("strategy uids") }
                if try claim(UInt32(next)) { break }
                next += 1
            }
            try db.execute(
                sql: "INSERT INTO strategy_users (strategy, uid, allocated_at) VALUES (?, ?, ?)",
                arguments: [name, next, Date()])
            return UInt32(next)
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

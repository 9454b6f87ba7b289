import DeskCore
import DeskTestSupport
import Foundation
import GRDB
import Testing

@testable import DeskLedger

@Suite("Ledger durability")
struct LedgerDurabilityTests {
    /// The same writes a backtest makes, at fixed times: orders journaled and decided,
    /// fills, positions, a canceled order, audit lines.
    static func script(_ ledger: Ledger) async throws {
        let at = LedgerTests.now
        func audit(_ id: String) -> AuditEvent {
            AuditEvent(at: at, member: "alice", strategy: "momentum", action: .order, orderId: id, outcome: .accepted)
        }
        for index in 0..<30 {
            let id = "o\(index)"
            let side: Side = index % 3 == 2 ? .sell : .buy
            try await ledger.journal(LedgerTests.order(id, side: side, qty: 5), audit: audit(id))
            var updates = [LedgerTests.update(id, .accepted)]
            if index % 5 == 4 {
                updates.append(LedgerTests.update(id, .canceled(reason: "day order at the close")))
            } else {
                updates.append(
                    LedgerTests.fill(id, 5, at: Decimal(100 + index) + Decimal(string: "0.25")!, cumulative: 5))
            }
            _ = try await ledger.apply(updates)
        }
        let recorded = LedgerTests.order("r1", qty: 3)
        _ = try await ledger.record(
            recorded,
            updates: [LedgerTests.update("r1", .accepted), LedgerTests.fill("r1", 3, at: 99, cumulative: 3)],
            audit: audit("r1"))
    }

    /// Every row of every table, in rowid order, as text.
    static func rows(_ path: String) throws -> [String: [String]] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            var all: [String: [String]] = [:]
            for table in tables {
                all[table] = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY rowid").map(\.description)
            }
            return all
        }
    }

    /// Runs `script` on a new ledger of `durability` in `folder` until it closes; returns its path.
    static func written(_ durability: LedgerDurability, in folder: TemporaryDirectory) async throws -> String {
        let path = folder.path("\(durability.rawValue).db")
        let ledger = try Ledger(path: path, durability: durability)
        #expect(ledger.durability == durability)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ledger.run() }
            defer { ledger.close() }
            try await script(ledger)
            ledger.close()
            try await group.waitForAll()
        }
        return path
    }

    /// Size of the ledger's write-ahead log (0 when it has none).
    static func walSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int) ?? 0
    }

    @Test(
        "the connection that commits order writes runs with the durability's synchronous level",
        arguments: [(LedgerDurability.full, 2), (.backtest, 0)])
    func synchronousLevel(durability: LedgerDurability, level: Int) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let ledger = try Ledger(path: folder.path("desk.db"), durability: durability)
        defer { ledger.close() }
        let levels = try await ledger.writer.write { db in
            try (Int.fetchOne(db, sql: "PRAGMA synchronous"), String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(levels.0 == level)
        #expect(levels.1 == "wal")
    }

    @Test("the same scripted writes give identical rows under full and backtest durability")
    func identicalRows() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let full = try Self.rows(try await Self.written(.full, in: folder))
        let backtest = try Self.rows(try await Self.written(.backtest, in: folder))
        #expect(full["orders"]?.count == 31)
        #expect(full["fills"]?.count == 25)
        #expect(full["audit_events"]?.count == 31)
        #expect(full.keys.sorted() == backtest.keys.sorted())
        for table in full.keys.sorted() {
            #expect(full[table] == backtest[table], "table \(table)")
        }
    }

    @Test(
        "a closed ledger's write-ahead log: a backtest's is emptied (the file alone holds it), a full one's is left to SQLite",
        arguments: [(LedgerDurability.backtest, true), (.full, false)])
    func closedLedgerHasNoLog(durability: LedgerDurability, emptied: Bool) async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        let ledger = try Ledger(path: path, durability: durability)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ledger.run() }
            defer { ledger.close() }
            try await Self.script(ledger)
            ledger.close()
            try await group.waitForAll()
        }
        // The writing ledger is still open (its connections too): only its close emptied the log.
        withExtendedLifetime(ledger) {
            #expect((Self.walSize(path) == 0) == emptied, "\(path)-wal holds \(Self.walSize(path)) bytes")
        }
        // What `desk orders --work` does: open it read-only and read it.
        let reader = try Ledger(readingExisting: path)
        defer { reader.close() }
        #expect(try await reader.allFills().count == 25)
        #expect(try await reader.order(id: "r1")?.status == .filled)
    }
}

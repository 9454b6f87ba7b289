import DeskCore
import DeskTestSupport
import Foundation
import GRDB
import Testing

@testable import DeskLedger

@Suite("Ledger v10: venue books")
struct VenueBooksLedgerTests {
    /// A ledger file as a v9 desk left it: one filled order of alice's, its fill,
    /// her book and her strategy's, and one P&L sample.
    static func writeV9Ledger(at path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try LedgerDatabase.migrator.migrate(queue, upTo: "v9-token-venue-and-officer")
        try queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO orders (order_id, member, strategy, symbol, qty, side, order_type, time_in_force,
                      status, filled_qty, filled_notional, filled_avg_price, created_at, updated_at)
                    VALUES ('o-1', 'alice', 's1', 'AAPL', '10', 'buy', 'market', 'day', 'filled', '10', '1000', '100',
                      '2026-01-02 15:00:00.000', '2026-01-02 15:00:00.000')
                    """)
            try db.execute(
                sql: """
                    INSERT INTO fills (order_id, fill_id, member, strategy, symbol, side, qty, price, filled_at)
                    VALUES ('o-1', 'o-1:10', 'alice', 's1', 'AAPL', 'buy', '10', '100', '2026-01-02 15:00:00.000')
                    """)
            for (table, strategy) in [("member_positions", nil), ("strategy_positions", "s1")] as [(String, String?)] {
                let columns = strategy == nil ? "member" : "member, strategy"
                let values = strategy.map { "'alice', '\($0)'" } ?? "'alice'"
                try db.execute(
                    sql: """
                        INSERT INTO \(table) (\(columns), symbol, qty, cost_basis, realized_pnl, updated_at)
                        VALUES (\(values), 'AAPL', '10', '1000', '0', '2026-01-02 15:00:00.000')
                        """)
            }
            try db.execute(
                sql: """
                    INSERT INTO pnl_history (member, strategy, minute, at, realized_pnl, unrealized_pnl)
                    VALUES ('alice', '', 29453700, '2026-01-02 15:00:00.000', '0', '5')
                    """)
        }
    }

    @Test("a v9 ledger's rows are kept by the migration and adopted by the default venue at open, once")
    func migrationKeepsRowsForTheDefaultVenue() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        try Self.writeV9Ledger(at: path)
        let ledger = try Ledger(path: path, groupCommit: false)
        // The migration guesses nothing: the rows are there, with no venue yet.
        #expect(try await ledger.orders(OrderQuery(member: nil)).map(\.venue) == [""])
        #expect(try await ledger.positions(member: "alice").map(\.qty) == [10])
        let adopted = try await ledger.adoptUnassignedRows(venue: "paper")
        #expect(
            adopted == [
                "orders": 1, "fills": 1, "member_positions": 1, "strategy_positions": 1, "pnl_history": 1,
            ])
        #expect(try await ledger.adoptUnassignedRows(venue: "live") == [:])
        #expect(try await ledger.orders(OrderQuery(member: nil, venue: "paper")).map(\.orderId) == ["o-1"])
        #expect(try await ledger.orders(OrderQuery(member: nil, venue: "live")).isEmpty)
        #expect(try await ledger.fills(orderId: "o-1").map(\.venue) == ["paper"])
        #expect(try await ledger.positions(member: "alice", venue: "paper").map(\.qty) == [10])
        #expect(try await ledger.positions(member: "alice", venue: "paper", byStrategy: true).map(\.strategy) == ["s1"])
        #expect(try await ledger.positions(member: "alice", venue: "live").isEmpty)
        let history = try await ledger.equityHistory(
            member: "alice", venue: "paper", since: Date(timeIntervalSince1970: 0))
        #expect(history.map(\.equity) == [5])
        ledger.close()
    }

    @Test("fills book into their order's venue: a member's paper and live positions are separate books")
    func positionsPerVenue() async throws {
        try await withRunningLedger { ledger, _ in
            let at = Date(timeIntervalSince1970: 1_800_000_000)
            for (id, venue, price) in [("p-1", "paper", Decimal(100)), ("l-1", "live", Decimal(110))] {
                let order = Order(
                    id: id, member: "alice", strategy: "s1",
                    terms: OrderTerms(symbol: "AAPL", qty: 10, side: .buy, type: .market, timeInForce: .day),
                    placedAt: at, venue: venue)
                _ = try await ledger.record(
                    order, updates: [OrderUpdate(orderId: id, event: .fill(qty: 10, price: price), at: at)],
                    audit: AuditEvent(at: at, member: "alice", strategy: "s1", action: .order, outcome: .accepted))
            }
            let books = try await ledger.positions(member: "alice")
            #expect(books.map(\.venue) == ["live", "paper"])
            #expect(books.map(\.costBasis) == [1100, 1000])
            #expect(try await ledger.fills(orderId: "l-1").map(\.venue) == ["live"])
            #expect(try await ledger.openOrders(venue: "live").isEmpty)
            #expect(try await ledger.order(id: "l-1")?.venue == "live")
        }
    }
}

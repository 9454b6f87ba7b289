import DeskCore
import DeskTestSupport
import Foundation
import GRDB
import Testing

@testable import DeskLedger

@Suite("Ledger")
struct LedgerTests {
    /// A time the ledger stores exactly (whole milliseconds).
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func order(
        _ id: String, member: String = "alice", side: Side = .buy, qty: Decimal = 10, limit: Decimal? = nil
    ) -> Order {
        Order(
            id: id, member: member, strategy: "momentum",
            terms: OrderTerms(
                symbol: "AAPL", qty: qty, side: side, type: limit == nil ? .market : .limit, limitPrice: limit),
            placedAt: now)
    }

    static func audit(_ id: String) -> AuditEvent {
        AuditEvent(at: Date(), member: "alice", strategy: "momentum", action: .order, orderId: id, outcome: .accepted)
    }

    static func update(_ id: String, _ event: OrderEvent) -> OrderUpdate {
        OrderUpdate(orderId: id, event: event, at: now)
    }

    static func fill(_ id: String, _ qty: Decimal, at price: Decimal, cumulative: Decimal) -> OrderUpdate {
        .fill(orderId: id, qty: qty, price: price, cumulativeQty: cumulative, at: now)
    }

    @Test("strategy uids: one per strategy, stable, never shared, even by concurrent first starts; kept on reopening")
    func strategyUIDs() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        let first = try Ledger(path: path, groupCommit: false)
        let names = (0..<20).map { "strategy_\($0)" }
        let uids = try await withThrowingTaskGroup(of: (String, UInt32).self) { group in
            for name in names { group.addTask { (name, try await first.strategyUID(for: name, base: 61_000)) } }
            return try await group.reduce(into: [String: UInt32]()) { $0[$1.0] = $1.1 }
        }
        #expect(Set(uids.values).count == names.count, "distinct: \(uids)")
        #expect(uids.values.allSatisfy { (61_000..<61_020).contains($0) })
        #expect(try await first.strategyUID(for: "strategy_3", base: 61_000) == uids["strategy_3"])
        first.close()
        let reopened = try Ledger(path: path, groupCommit: false)
        defer { reopened.close() }
        #expect(try await reopened.strategyUID(for: "strategy_7", base: 61_000) == uids["strategy_7"])
        #expect(try await reopened.strategyUID(for: "newcomer", base: 61_000) == 61_020, "never one already given")
    }

    @Test("orders, fills and positions: buys, sells, partial fills, realized P&L")
    func lifecycle() async throws {
        try await withRunningLedger { ledger, _ in
            try await ledger.journal(Self.order("b1"), audit: Self.audit("b1"))
            try await ledger.journal(Self.order("s1", side: .sell, qty: 6), audit: Self.audit("s1"))
            let outcomes = try await ledger.apply([
                Self.update("b1", .accepted),
                Self.fill("b1", 4, at: 100, cumulative: 4),
                Self.fill("b1", 6, at: Decimal(string: "100.5")!, cumulative: 10),
                Self.fill("s1", 6, at: 110, cumulative: 6),
            ])
            #expect(outcomes.count == 4)
            let bought = try #require(try await ledger.order(id: "b1"))
            #expect(bought.status == .filled)
            #expect(bought.filledQty == 10)
            #expect(bought.filledAvgPrice == Decimal(string: "100.3")!)
            #expect(try await ledger.fills(orderId: "b1").map(\.fillId) == ["b1:4", "b1:10"])
            let member = try #require(try await ledger.positions(member: "alice").first)
            // bought 10 at 100.3 avg (1003), sold 6 at 110: realized 660 - 601.8 = 58.2
            #expect(member.qty == 4)
            #expect(member.realizedPnL == Decimal(string: "58.2")!)
            #expect(member.costBasis == Decimal(string: "401.2")!)
            let byStrategy = try await ledger.positions(member: "alice", byStrategy: true)
            #expect(byStrategy.map(\.strategy) == ["momentum"])
            #expect(byStrategy.first?.qty == 4)
        }
    }

    @Test("the same broker fill id is booked once; refused events change nothing")
    func duplicates() async throws {
        try await withRunningLedger { ledger, _ in
            try await ledger.journal(Self.order("o"), audit: Self.audit("o"))
            let fill = Self.fill("o", 10, at: 5, cumulative: 10)
            _ = try await ledger.apply([fill])
            let again = try await ledger.apply([fill, Self.update("o", .canceled(reason: nil))])
            guard case .duplicate = again[0], case .refused = again[1] else {
                Issue.record("expected duplicate and refused, got \(again)")
                return
            }
            #expect(try ledger.count("fills") == 1)
            #expect(try await ledger.positions(member: "alice").first?.qty == 10)
            guard
                case .unknownOrder = try await ledger.apply([Self.update("nope", .accepted)])[0]
            else {
                Issue.record("expected unknownOrder")
                return
            }
        }
    }

    @Test("group commit: concurrent writers all land; one failure rolls back only its own work")
    func groupCommit() async throws {
        try await withRunningLedger { ledger, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask { try await ledger.journal(Self.order("o\(index)"), audit: Self.audit("o\(index)")) }
                }
                try await group.waitForAll()
            }
            #expect(try ledger.count("orders") == 200)
            // A duplicate primary key fails alone; its audit line is rolled back with it.
            await #expect(throws: (any Error).self) {
                try await ledger.journal(Self.order("o1"), audit: Self.audit("dup"))
            }
            #expect(try ledger.count("orders") == 200)
            #expect(try ledger.count("audit_events") == 200)
        }
    }

    @Test("without group commit every write is its own transaction, same results")
    func noGroupCommit() async throws {
        try await withRunningLedger(groupCommit: false) { ledger, _ in
            try await ledger.journal(Self.order("a"), audit: Self.audit("a"))
            #expect(try await ledger.order(id: "a")?.status == .pendingNew)
        }
    }

    @Test("order queries filter by member, status, symbol, time and limit")
    func queries() async throws {
        try await withRunningLedger { ledger, _ in
            for (id, member) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
                try await ledger.journal(Self.order(id, member: member), audit: Self.audit(id))
            }
            _ = try await ledger.apply([Self.fill("a1", 10, at: 1, cumulative: 10)])
            #expect(Set(try await ledger.orders(OrderQuery(member: "alice")).map(\.orderId)) == ["a1", "a2"])
            #expect(try await ledger.orders(OrderQuery(member: "alice", status: .open)).map(\.orderId) == ["a2"])
            #expect(try await ledger.orders(OrderQuery(member: nil, status: .closed)).map(\.orderId) == ["a1"])
            #expect(try await ledger.orders(OrderQuery(member: nil, status: .exactly(.filled))).count == 1)
            #expect(try await ledger.orders(OrderQuery(member: nil, symbol: "MSFT")).isEmpty)
            #expect(try await ledger.orders(OrderQuery(member: nil, since: Self.now.addingTimeInterval(60))).isEmpty)
            #expect(try await ledger.orders(OrderQuery(member: nil, limit: 2)).count == 2)
            #expect(try await ledger.openOrders().map(\.orderId).sorted() == ["a2", "b1"])
        }
    }

    @Test("decimals are stored as text, exactly")
    func decimalsAsText() async throws {
        try await withRunningLedger { ledger, folder in
            let record = Self.order("p", qty: Decimal(string: "0.123456789")!, limit: Decimal(string: "145.61")!)
            try await ledger.journal(record, audit: Self.audit("p"))
            let reopened = try Ledger(path: folder.path("desk.db"))
            let stored = try #require(try await reopened.order(id: "p"))
            #expect(stored.qty == Decimal(string: "0.123456789")!)
            #expect(stored.limitPrice == Decimal(string: "145.61")!)
        }
    }

    @Test("tokens: stored hashed, resolve to their member, revocable")
    func tokens() async throws {
        try await withRunningLedger { ledger, folder in
            let issued = try await ledger.issueToken(member: "alice", strategy: "momentum")
            #expect(issued.secret.hasPrefix("desk_"))
            #expect(try await ledger.identity(token: issued.secret)?.member == "alice")
            #expect(try await ledger.identity(token: issued.secret)?.strategy == "momentum")
            #expect(try await ledger.identity(token: issued.secret + "x") == nil)
            let stored = try await ledger.tokens()
            #expect(stored.count == 1)
            #expect(stored[0].tokenHash != issued.secret && stored[0].tokenHash.count == 64)
            let file = try String(contentsOfFile: folder.path("desk.db"), encoding: .isoLatin1)
            #expect(!file.contains(issued.secret))
            #expect(try await ledger.revokeToken(id: issued.identity.tokenId))
            #expect(try await ledger.identity(token: issued.secret) == nil)
            #expect(try await ledger.revokeToken(id: issued.identity.tokenId) == false)
        }
    }

    @Test("kill switches persist")
    func halts() async throws {
        try await withRunningLedger { ledger, folder in
            let audit = AuditEvent(at: Date(), member: "admin", strategy: "", action: .halt, outcome: .ok)
            try await ledger.halt(
                HaltRecord(scope: "alice", reason: "runaway", haltedBy: "admin", haltedAt: Date()), audit: audit)
            try await ledger.halt(
                HaltRecord(scope: HaltRecord.wholeDesk, reason: nil, haltedBy: "admin", haltedAt: Date()), audit: audit)
            let reopened = try Ledger(path: folder.path("desk.db"))
            defer { reopened.close() }
            #expect(try await reopened.halts().map(\.scope) == ["*", "alice"])
            #expect(try await reopened.resume(scope: "alice") { _ in audit })
            #expect(try await reopened.resume(scope: "alice") { _ in audit } == false)
            #expect(try reopened.count("audit_events") == 4)
        }
    }

    @Test("a decided order is recorded in one transaction: its final state, fills, positions and audit line")
    func recordInOneTransaction() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        let order = Self.order("d1", qty: 10)
        let recorded = try await ledger.record(
            order,
            updates: [
                Self.update("d1", .accepted), Self.fill("d1", 4, at: 100, cumulative: 4),
                Self.fill("d1", 6, at: 101, cumulative: 10),
            ], audit: Self.audit("d1"))
        #expect(recorded.order.status == .filled)
        #expect(recorded.order.filledAvgPrice == Decimal(string: "100.6")!)
        #expect(try await ledger.order(id: "d1") == recorded.order)
        // The strategy's position after each fill, as a strategy's fill line tells it.
        #expect(recorded.positions == [4, 10])
        #expect(try await ledger.fills(orderId: "d1").map(\.fillId) == ["d1:4", "d1:10"])
        #expect(try await ledger.positions(member: "alice").first?.qty == 10)
        #expect(try await ledger.positions(member: "alice", byStrategy: true).first?.costBasis == 1006)
        #expect(try ledger.count("audit_events") == 1)
        // A decision the state machine refuses writes nothing at all.
        await #expect(throws: OrderTransitionError.self) {
            _ = try await ledger.record(
                Self.order("d2"), updates: [Self.fill("d2", 11, at: 1, cumulative: 11)], audit: Self.audit("d2"))
        }
        #expect(try await ledger.order(id: "d2") == nil)
        #expect(try ledger.count("audit_events") == 1)
        // A later fill of another order in the same symbol: its update's outcome carries the position after it.
        try await ledger.journal(Self.order("d3", qty: 5), audit: Self.audit("d3"))
        let outcomes = try await ledger.apply([
            Self.update("d3", .accepted), Self.fill("d3", 5, at: 102, cumulative: 5),
        ])
        #expect(outcomes.map(Self.position) == [nil, 15])
    }

    /// The position an update's outcome carries (a fill's), nil for any other.
    static func position(_ outcome: LedgerUpdateOutcome) -> Decimal? {
        guard case .applied(_, let position) = outcome else { return nil }
        return position
    }

    @Test("positions kept in memory stay true when a batch rolls back")
    func positionsAfterRollback() async throws {
        let ledger = try Ledger.inMemory()
        defer { ledger.close() }
        _ = try await ledger.record(
            Self.order("p1"), updates: [Self.fill("p1", 10, at: 10, cumulative: 10)], audit: Self.audit("p1"))
        // The same id again fails on the primary key after the fill was booked in memory.
        await #expect(throws: (any Error).self) {
            _ = try await ledger.record(
                Self.order("p1"), updates: [Self.fill("p1", 10, at: 10, cumulative: 10)], audit: Self.audit("p1"))
        }
        _ = try await ledger.record(
            Self.order("p2"), updates: [Self.fill("p2", 5, at: 20, cumulative: 5)], audit: Self.audit("p2"))
        let position = try #require(try await ledger.positions(member: "alice").first)
        #expect(position.qty == 15)
        #expect(position.costBasis == 200)
    }

    @Test(
        "times are stored as GRDB stores a Date (UTC, milliseconds truncated) and read back by GRDB",
        arguments: [
            (0, "1970-01-01 00:00:00.000"), (1_800_000_000.1239, "2027-01-15 08:00:00.123"),
            (951_782_400.5, "2000-02-29 00:00:00.500"), (-1.5, "1969-12-31 23:59:58.500"),
        ])
    func storedTimes(seconds: Double, text: String) throws {
        #expect(LedgerTime.text(Date(timeIntervalSince1970: seconds)) == text)
        let read = try DatabaseQueue().read { db in try Date.fetchOne(db, sql: "SELECT ?", arguments: [text]) }
        let milliseconds = try #require(read).timeIntervalSince1970 * 1000
        #expect(milliseconds.rounded() == (seconds * 1000).rounded(.down))
    }

    @Test("a v4 ledger migrates: user_id becomes member, reject_reason status_reason, NULL strategies ''")
    func migrationToMember() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        let old = try DatabaseQueue(path: path)
        let migrator = LedgerDatabase.migrator
        try migrator.migrate(old, upTo: "v4-strategy-users")
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO orders (order_id, user_id, strategy, symbol, qty, side, order_type, time_in_force,
                      status, reject_reason, created_at, updated_at)
                    VALUES ('o1', 'alice', '', 'AAPL', '1', 'buy', 'market', 'day', 'rejected', 'no price',
                      '2026-11-25 14:30:00.000', '2026-11-25 14:30:00.000');
                    INSERT INTO audit_events (at, user_id, strategy, action, outcome)
                    VALUES ('2026-11-25 14:30:00.000', 'alice', NULL, 'order', 'rejected');
                    """)
        }
        try old.close()
        let ledger = try Ledger(path: path)
        defer { ledger.close() }
        let order = try #require(try await ledger.order(id: "o1"))
        #expect(order.member == "alice" && order.statusReason == "no price")
        #expect(try await ledger.orders(OrderQuery(member: "alice")).count == 1)
        let audit = try #require(try await ledger.auditEvents(member: "alice").first)
        #expect(audit.strategy == "")
    }
}

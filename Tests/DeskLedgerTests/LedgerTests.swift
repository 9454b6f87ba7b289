import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

@Suite("Ledger")
struct LedgerTests {
    static func order(_ id: String, member: String = "alice", side: Side = .buy, qty: Decimal = 10) -> OrderRecord {
        OrderRecord(
            orderId: id, userId: member, strategy: "momentum",
            order: NewOrder(symbol: "AAPL", qty: qty, side: side), at: Date())
    }

    static func audit(_ id: String) -> AuditEvent {
        AuditEvent(at: Date(), userId: "alice", strategy: "momentum", action: "order", orderId: id, outcome: "accepted")
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
            let now = Date()
            let outcomes = try await ledger.apply([
                LedgerUpdate(orderId: "b1", event: .accepted, at: now),
                LedgerUpdate(orderId: "b1", event: .fill(qty: 4, price: 100), fillId: "f1", at: now),
                LedgerUpdate(
                    orderId: "b1", event: .fill(qty: 6, price: Decimal(string: "100.5")!), fillId: "f2", at: now),
                LedgerUpdate(orderId: "s1", event: .fill(qty: 6, price: 110), fillId: "f3", at: now),
            ])
            #expect(outcomes.count == 4)
            let bought = try #require(try await ledger.order(id: "b1"))
            #expect(bought.status == .filled)
            #expect(bought.filledQty == 10)
            #expect(bought.filledAvgPrice == Decimal(string: "100.3")!)
            #expect(try await ledger.fills(orderId: "b1").map(\.fillId) == ["f1", "f2"])
            let member = try #require(try await ledger.positions(member: "alice").first)
            // bought 10 at 100.3 avg (1003), sold 6 at 110: realized 660 - 601.8 = 58.2
            #expect(member.qty == 4)
            #expect(member.realizedPnl == Decimal(string: "58.2")!)
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
            let fill = LedgerUpdate(orderId: "o", event: .fill(qty: 10, price: 5), fillId: "x", at: Date())
            _ = try await ledger.apply([fill])
            let again = try await ledger.apply([
                fill, LedgerUpdate(orderId: "o", event: .canceled(reason: nil), at: Date()),
            ])
            guard case .duplicate = again[0], case .refused = again[1] else {
                Issue.record("expected duplicate and refused, got \(again)")
                return
            }
            #expect(try ledger.count("fills") == 1)
            #expect(try await ledger.positions(member: "alice").first?.qty == 10)
            guard
                case .unknownOrder = try await ledger.apply([
                    LedgerUpdate(orderId: "nope", event: .accepted, at: Date())
                ])[0]
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
            _ = try await ledger.apply([LedgerUpdate(orderId: "a1", event: .fill(qty: 10, price: 1), at: Date())])
            #expect(Set(try await ledger.orders(OrderQuery(member: "alice")).map(\.orderId)) == ["a1", "a2"])
            #expect(try await ledger.orders(OrderQuery(member: "alice", status: .open)).map(\.orderId) == ["a2"])
            #expect(try await ledger.orders(OrderQuery(member: nil, status: .closed)).map(\.orderId) == ["a1"])
            #expect(try await ledger.orders(OrderQuery(member: nil, status: .exactly(.filled))).count == 1)
            #expect(try await ledger.orders(OrderQuery(member: nil, symbol: "MSFT")).isEmpty)
            #expect(try await ledger.orders(OrderQuery(member: nil, since: Date().addingTimeInterval(60))).isEmpty)
            #expect(try await ledger.orders(OrderQuery(member: nil, limit: 2)).count == 2)
            #expect(try await ledger.openOrders().map(\.orderId).sorted() == ["a2", "b1"])
        }
    }

    @Test("decimals are stored as text, exactly")
    func decimalsAsText() async throws {
        try await withRunningLedger { ledger, folder in
            var record = Self.order("p", qty: Decimal(string: "0.123456789")!)
            record.limitPrice = Decimal(string: "145.61")!
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
            let issued = try ledger.issueToken(member: "alice", strategy: "momentum")
            #expect(issued.secret.hasPrefix("desk_"))
            #expect(try await ledger.identity(token: issued.secret)?.member == "alice")
            #expect(try await ledger.identity(token: issued.secret)?.strategy == "momentum")
            #expect(try await ledger.identity(token: issued.secret + "x") == nil)
            let stored = try ledger.tokens()
            #expect(stored.count == 1)
            #expect(stored[0].tokenHash != issued.secret && stored[0].tokenHash.count == 64)
            let file = try String(contentsOfFile: folder.path("desk.db"), encoding: .isoLatin1)
            #expect(!file.contains(issued.secret))
            #expect(try ledger.revokeToken(id: issued.identity.tokenId))
            #expect(try await ledger.identity(token: issued.secret) == nil)
            #expect(try ledger.revokeToken(id: issued.identity.tokenId) == false)
        }
    }

    @Test("kill switches persist")
    func halts() async throws {
        try await withRunningLedger { ledger, folder in
            try ledger.halt(scope: "alice", reason: "runaway", by: "admin")
            try ledger.halt(scope: HaltRecord.wholeDesk, reason: nil, by: "admin")
            let reopened = try Ledger(path: folder.path("desk.db"))
            #expect(try reopened.halts().map(\.scope) == ["*", "alice"])
            #expect(try reopened.resume(scope: "alice"))
            #expect(try reopened.resume(scope: "alice") == false)
        }
    }
}

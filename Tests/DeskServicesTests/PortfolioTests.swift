import DeskCore
import DeskIdentity
import DeskLedger
import DeskServices
import Foundation
import Testing

/// A ledger in memory with `alice` holding 10 AAPL bought at 100 (order `a1`)
/// and `bob` 5 MSFT at 200 (order `b1`).
func ledgerWithHoldings() async throws -> Ledger {
    let ledger = try Ledger.inMemory(groupCommit: false)
    let at = Date(timeIntervalSince1970: 1_800_000_000)
    for (id, member, symbol, qty, price) in [
        ("a1", "alice", "AAPL", Decimal(10), Decimal(100)), ("b1", "bob", "MSFT", Decimal(5), Decimal(200)),
    ] {
        let order = Order(
            id: id, member: member, strategy: "s1", terms: OrderTerms(symbol: symbol, qty: qty, side: .buy),
            placedAt: at)
        _ = try await ledger.record(
            order,
            updates: [
                OrderUpdate(orderId: id, event: .accepted, at: at),
                .fill(orderId: id, qty: qty, price: price, cumulativeQty: qty, at: at),
            ], audit: AuditEvent(at: at, member: member, strategy: "s1", action: .order, outcome: .accepted))
    }
    return ledger
}

/// What `body` returned, or the `E` it threw (any other error is thrown on).
func attempt<T, E: Error>(_ failure: E.Type, _ body: () throws -> T) throws -> Result<T, E> {
    do { return .success(try body()) } catch let error as E { return .failure(error) }
}

@Suite("Portfolio: who reads what")
struct PortfolioTests {
    static let alice = Caller(member: "alice")
    static let admin = Caller(member: "root", isAdmin: true)

    @Test(
        "the member a listing shows",
        arguments: [
            (alice, nil, "alice", false), (alice, "alice", "alice", false), (alice, "bob", nil, true),
            (admin, nil, nil, false), (admin, "bob", "bob", false),
        ] as [(Caller, String?, String?, Bool)])
    func listingScope(caller: Caller, requested: String?, shown: String?, refused: Bool) throws {
        let outcome = try attempt(PortfolioRefusal.self) { try ReadScope.listing(requested: requested, caller: caller) }
        #expect(outcome == (refused ? .failure(.otherMember(requested: requested ?? "")) : .success(shown)))
    }

    @Test(
        "the one member a statement is about",
        arguments: [
            (alice, nil, "alice"), (alice, "alice", "alice"), (admin, nil, "root"), (admin, "bob", "bob"),
        ] as [(Caller, String?, String)])
    func statementScope(caller: Caller, requested: String?, member: String) throws {
        #expect(try ReadScope.member(requested: requested, caller: caller) == member)
    }

    @Test("a member may read their own orders; an admin anyone's")
    func orderReaders() {
        #expect(ReadScope.mayRead(orderOf: "alice", caller: Self.alice))
        #expect(!ReadScope.mayRead(orderOf: "bob", caller: Self.alice))
        #expect(ReadScope.mayRead(orderOf: "bob", caller: Self.admin))
    }

    @Test("positions: a member sees theirs, valued at the last price; an admin everyone's; another's is refused")
    func positions() async throws {
        let portfolio = Portfolio(ledger: try await ledgerWithHoldings(), lastPrice: { $0 == "AAPL" ? 110 : nil })
        let own = try await portfolio.positions(for: Self.alice, member: nil, byStrategy: false)
        #expect(own.map(\.record.member) == ["alice"])
        #expect(own.first?.lastPrice == 110 && own.first?.record.position.unrealizedPnL(at: 110) == 100)
        let everyone = try await portfolio.positions(for: Self.admin, member: nil, byStrategy: true)
        #expect(Set(everyone.map(\.record.member)) == ["alice", "bob"])
        await #expect(throws: PortfolioRefusal.otherMember(requested: "bob")) {
            try await portfolio.positions(for: Self.alice, member: "bob", byStrategy: false)
        }
    }

    @Test("one order: the owner and an admin see it with its fills; another member is told there is none")
    func oneOrder() async throws {
        let portfolio = Portfolio(ledger: try await ledgerWithHoldings(), lastPrice: { _ in nil })
        let order = try await portfolio.order(for: Self.alice, id: "a1")
        let fills = try await portfolio.fills(of: order)
        #expect(order.member == "alice" && fills.count == 1)
        #expect(try await portfolio.order(for: Self.admin, id: "b1").member == "bob")
        await #expect(throws: PortfolioRefusal.orderNotFound(id: "b1")) {
            try await portfolio.order(for: Self.admin, id: "b1", ownOnly: true)
        }
        await #expect(throws: PortfolioRefusal.orderNotFound(id: "b1")) {
            try await portfolio.order(for: Self.alice, id: "b1")
        }
        await #expect(throws: PortfolioRefusal.orderNotFound(id: "zz")) {
            try await portfolio.order(for: Self.admin, id: "zz")
        }
    }

    @Test("open positions: the caller's own, not flat, with what open orders on the closing side claim")
    func openPositions() async throws {
        let portfolio = Portfolio(ledger: try await ledgerWithHoldings(), lastPrice: { _ in nil })
        let open = try await portfolio.openPositions(of: Self.admin)
        #expect(open.isEmpty)
        let own = try await portfolio.openPositions(of: Self.alice)
        #expect(own.map(\.holding.record.symbol) == ["AAPL"] && own.first?.heldForOrders == 0)
    }

    static func open(
        _ symbol: String, _ side: Side, qty: Decimal, filled: Decimal = 0, id: String = "o",
        orderClass: OrderClass = .simple, parent: String? = nil
    ) -> OrderRecord {
        var record = OrderRecord(
            Order(
                id: id, member: "alice", terms: OrderTerms(symbol: symbol, qty: qty, side: side),
                placedAt: Date(timeIntervalSince1970: 0), orderClass: orderClass, parentId: parent),
            progress: OrderProgress(qty: qty))
        record.filledQty = filled
        return record
    }

    @Test(
        "held for orders: what is still to fill on the closing side of the position's symbol",
        arguments: [
            (Decimal(10), [], Decimal(0)),
            (10, [open("AAPL", .sell, qty: 4)], 4),
            (10, [open("AAPL", .sell, qty: 4, filled: 1), open("AAPL", .sell, qty: 2)], 5),
            (10, [open("AAPL", .buy, qty: 4), open("MSFT", .sell, qty: 3)], 0),
            (-6, [open("AAPL", .buy, qty: 4), open("AAPL", .sell, qty: 3)], 4),
            // A bracket's two exits (one cancels the other) hold the shares once; an oco's too.
            (
                10,
                [
                    open("AAPL", .sell, qty: 10, id: "tp", orderClass: .bracket, parent: "e"),
                    open("AAPL", .sell, qty: 10, id: "sl", orderClass: .bracket, parent: "e"),
                    open("AAPL", .sell, qty: 2),
                ], 12
            ),
            (
                10,
                [
                    open("AAPL", .sell, qty: 8, id: "p", orderClass: .oco),
                    open("AAPL", .sell, qty: 8, id: "s", orderClass: .oco, parent: "p"),
                ], 8
            ),
        ] as [(Decimal, [OrderRecord], Decimal)])
    func heldForOrders(qty: Decimal, open: [OrderRecord], held: Decimal) {
        let position = PositionRecord(
            member: "alice", strategy: "", symbol: "AAPL", position: Position(qty: qty, costBasis: qty * 100),
            updatedAt: Date(timeIntervalSince1970: 0))
        #expect(OpenPosition.held(by: open, of: position) == held)
    }

    @Test("order listings and the account are the caller's own")
    func ordersAndAccount() async throws {
        let portfolio = Portfolio(ledger: try await ledgerWithHoldings(), lastPrice: { _ in nil })
        let all = OrderQuery(member: nil, status: .all, limit: 50)
        #expect(try await portfolio.orders(for: Self.alice, all).map(\.orderId) == ["a1"])
        #expect(try await portfolio.orderCount(for: Self.admin, all) == 2)
        let account = try await portfolio.account(for: Self.admin, member: "bob")
        #expect(account.member == "bob" && account.positions.count == 1 && account.openOrders == 0)
        await #expect(throws: PortfolioRefusal.otherMember(requested: "bob")) {
            try await portfolio.account(for: Self.alice, member: "bob")
        }
    }

    @Test("the leaderboard: admins only, every member with a position or a live member token")
    func leaderboard() async throws {
        let ledger = try await ledgerWithHoldings()
        _ = try await ledger.issueToken(member: "carol")
        _ = try await ledger.issueToken(member: "prometheus", metricsOnly: true)
        let portfolio = Portfolio(ledger: ledger, lastPrice: { _ in nil })
        #expect(try await portfolio.leaderboard(for: Self.admin).map(\.member) == ["alice", "bob", "carol"])
        await #expect(throws: PortfolioRefusal.adminOnly) { try await portfolio.leaderboard(for: Self.alice) }
    }

    static func sample(_ second: TimeInterval, _ equity: Decimal) -> EquitySample {
        EquitySample(
            member: "alice", strategy: "", at: Date(timeIntervalSince1970: second), realizedPnL: equity,
            unrealizedPnL: 0)
    }

    @Test(
        "an equity curve keeps each step's last sample and its largest fall from a peak",
        arguments: [
            ([], 60, [], 0),
            ([(0, 5), (30, 7), (60, 3)], 60, [7, 3], 4),
            ([(0, 5), (30, 7), (60, 3)], 1, [5, 7, 3], 4),
            ([(0, 1), (60, 2), (120, 3)], 60, [1, 2, 3], 0),
            ([(0, 10), (60, 4), (120, 12), (180, 6)], 60, [10, 4, 12, 6], 6),
        ] as [([(TimeInterval, Decimal)], Int, [Decimal], Decimal)])
    func curve(samples: [(TimeInterval, Decimal)], step: Int, points: [Decimal], drawdown: Decimal) {
        let curve = EquityCurve(
            member: "alice", strategy: nil, samples: samples.map { Self.sample($0.0, $0.1) }, stepSeconds: step)
        #expect(curve.points.map(\.equity) == points)
        #expect(curve.maxDrawdown == drawdown)
    }
}

@Suite("Account valuation")
struct AccountValuationTests {
    static func position(_ symbol: String, qty: Decimal, cost: Decimal, realized: Decimal = 0) -> PositionRecord {
        PositionRecord(
            member: "alice", strategy: "", symbol: symbol,
            position: Position(qty: qty, costBasis: cost, realizedPnL: realized),
            updatedAt: Date(timeIntervalSince1970: 0))
    }

    @Test(
        "positions at the last prices, at cost where none is known; flat positions count their realized P&L only",
        arguments: [
            ([], [:], Decimal(0), Decimal(0), Decimal(0), Decimal(0), 0),
            ([position("AAPL", qty: 10, cost: 1000)], ["AAPL": Decimal(110)], 1000, 1100, 0, 100, 1),
            ([position("AAPL", qty: 10, cost: 1000)], [:], 1000, 1000, 0, 0, 1),
            ([position("AAPL", qty: 0, cost: 0, realized: 25)], ["AAPL": 90], -25, 0, 25, 0, 0),
            (
                [position("AAPL", qty: 10, cost: 1000, realized: 5), position("MSFT", qty: -2, cost: -400)],
                ["AAPL": 90, "MSFT": 190], 595, 520, 5, -80, 2
            ),
        ] as [([PositionRecord], [String: Decimal], Decimal, Decimal, Decimal, Decimal, Int)])
    func valuation(
        positions: [PositionRecord], prices: [String: Decimal], cashUsed: Decimal, marketValue: Decimal,
        realized: Decimal, unrealized: Decimal, open: Int
    ) {
        let valuation = AccountValuation(positions: positions, lastPrice: { prices[$0] })
        #expect(valuation.cashUsed == cashUsed && valuation.marketValue == marketValue)
        #expect(valuation.realizedPnL == realized && valuation.unrealizedPnL == unrealized)
        #expect(valuation.totalPnL == realized + unrealized && valuation.openPositions == open)
    }
}

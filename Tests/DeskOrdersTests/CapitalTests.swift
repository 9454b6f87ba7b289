import DeskCore
import DeskOrders
import Foundation
import Testing

/// The buying-power rule inside the admission machine: scenarios of orders,
/// fills and cancels, each step with the decision or the exact figures it must give.
@Suite("Admission: capital allocations")
struct CapitalTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A machine where alice has 1000 of capital and nothing else is limited; bob has no allocation.
    static func machine() -> Admission {
        Admission(
            policy: RiskPolicy(
                defaults: RiskLimits(), members: ["alice": RiskLimitsOverride().setting(\.capital, to: 1000)]),
            rules: OrderRules())
    }

    enum Step: Sendable, CustomStringConvertible {
        /// Admit for alice (or `member`) at `last` as the last price; `expect` is "journal" or the refused rule.
        case admit(
            String, side: Side, qty: Decimal, limit: Decimal? = nil, last: Decimal? = 100, member: String = "alice",
            expect: String)
        /// The ledger booked a fill of `qty` at `price`; `filled` of `total` are filled after it.
        case fill(String, side: Side, qty: Decimal, price: Decimal, filled: Decimal, total: Decimal)
        /// The order was canceled with `filled` of `total` filled.
        case cancel(String, side: Side, filled: Decimal, total: Decimal)
        /// Alice's figures now.
        case figures(cash: Decimal, buyingPower: Decimal, reserved: Decimal, shorts: Decimal = 0)

        var description: String {
            switch self {
            case .admit(let id, let side, let qty, let limit, _, let member, let expect):
                "admit \(id) \(side) \(qty)\(limit.map { " @ \($0)" } ?? "") for \(member) → \(expect)"
            case .fill(let id, _, let qty, let price, _, _): "\(id) fills \(qty) @ \(price)"
            case .cancel(let id, _, _, _): "\(id) canceled"
            case .figures(let cash, let power, let reserved, _):
                "cash \(cash), buying power \(power), reserved \(reserved)"
            }
        }
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var steps: [Step]
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "a buy within buying power goes; the next one over what is left is refused",
            steps: [
                .admit("b1", side: .buy, qty: 9, expect: "journal"),
                .figures(cash: 1000, buyingPower: 100, reserved: 900),
                .admit("b2", side: .buy, qty: 2, expect: "refused"),
                .admit("b3", side: .buy, qty: 1, expect: "journal"),
                .figures(cash: 1000, buyingPower: 0, reserved: 1000),
            ]),
        Scenario(
            name: "cash follows a fill exactly, at the fill's price",
            steps: [
                .admit("b1", side: .buy, qty: 5, limit: Decimal(string: "190.25")!, expect: "journal"),
                .fill("b1", side: .buy, qty: 2, price: Decimal(string: "190.10")!, filled: 2, total: 5),
                .figures(
                    cash: Decimal(string: "619.8")!, buyingPower: Decimal(string: "49.05")!,
                    reserved: Decimal(string: "570.75")!),
                .fill("b1", side: .buy, qty: 3, price: Decimal(string: "190.25")!, filled: 5, total: 5),
                .figures(cash: Decimal(string: "49.05")!, buyingPower: Decimal(string: "49.05")!, reserved: 0),
            ]),
        Scenario(
            name: "selling what is held needs no buying power, and its proceeds come back as cash",
            steps: [
                .admit("b1", side: .buy, qty: 10, expect: "journal"),
                .fill("b1", side: .buy, qty: 10, price: 100, filled: 10, total: 10),
                .figures(cash: 0, buyingPower: 0, reserved: 0),
                .admit("s1", side: .sell, qty: 10, last: 1_000_000, expect: "journal"),
                .admit("s2", side: .sell, qty: 1, expect: "refused"),
                .fill("s1", side: .sell, qty: 10, price: Decimal(string: "101.5")!, filled: 10, total: 10),
                .figures(cash: 1015, buyingPower: 1015, reserved: 0),
            ]),
        Scenario(
            name: "an open buy holds its limit's value until it is canceled",
            steps: [
                .admit("b1", side: .buy, qty: 4, limit: 200, expect: "journal"),
                .figures(cash: 1000, buyingPower: 200, reserved: 800),
                .admit("b2", side: .buy, qty: 2, limit: 150, expect: "refused"),
                .cancel("b1", side: .buy, filled: 0, total: 4),
                .figures(cash: 1000, buyingPower: 1000, reserved: 0),
                .admit("b2", side: .buy, qty: 2, limit: 150, expect: "journal"),
            ]),
        Scenario(
            name: "a short costs buying power like a buy of the same value; covering it costs none",
            steps: [
                .admit("s1", side: .sell, qty: 2, limit: 300, expect: "journal"),
                .figures(cash: 1000, buyingPower: 400, reserved: 600),
                .fill("s1", side: .sell, qty: 2, price: 300, filled: 2, total: 2),
                .figures(cash: 1600, buyingPower: 400, reserved: 0, shorts: 1200),
                .admit("c1", side: .buy, qty: 2, limit: 1000, expect: "journal"),
                .admit("c2", side: .buy, qty: 5, limit: 100, expect: "refused"),
                .fill("c1", side: .buy, qty: 2, price: 250, filled: 2, total: 2),
                .figures(cash: 1100, buyingPower: 1100, reserved: 0),
            ]),
        Scenario(
            name: "a market order with no known price is refused (it cannot be valued); a limit order is not",
            steps: [
                .admit("b1", side: .buy, qty: 1, last: nil, expect: "refused"),
                .admit("b2", side: .buy, qty: 1, limit: 10, last: nil, expect: "journal"),
            ]),
        Scenario(
            name: "a member without an allocation is not limited",
            steps: [.admit("b1", side: .buy, qty: 1_000_000, member: "bob", expect: "journal")]),
    ]

    @Test("scenarios", arguments: scenarios)
    func scenario(_ scenario: Scenario) throws {
        var machine = Self.machine()
        for step in scenario.steps {
            switch step {
            case .admit(let id, let side, let qty, let limit, let last, let member, let expect):
                let ticket = OrderTicket(
                    symbol: "AAPL", qty: ExactDecimal.plain(qty), side: side.rawValue,
                    orderType: limit == nil ? "market" : "limit", timeInForce: "day",
                    limitPrice: limit.map(ExactDecimal.plain) ?? "")
                let decision = machine.admit(
                    ticket, member: member, strategy: "", orderId: id, now: Self.start, lastPrice: last)
                switch decision {
                case .journal: #expect(expect == "journal", "\(step)")
                case .refuse(.risk(let rejection)) where rejection.limit == "buying_power":
                    #expect(expect == "refused", "\(step)")
                    #expect(rejection.message.contains("buying power"), "\(step): \(rejection.message)")
                default: Issue.record("\(step): \(decision)")
                }
            case .fill(let id, let side, let qty, let price, let filled, let total):
                var progress = OrderProgress(qty: total)
                try progress.apply(.fill(qty: filled, price: price))
                machine.booked(
                    id, member: "alice", symbol: "AAPL", side: side, progress: progress, filled: qty, price: price)
            case .cancel(let id, let side, let filled, let total):
                var progress = OrderProgress(qty: total)
                if filled > 0 { try progress.apply(.fill(qty: filled, price: 1)) }
                try progress.apply(.canceled(reason: nil))
                machine.booked(id, member: "alice", symbol: "AAPL", side: side, progress: progress, filled: nil)
            case .figures(let cash, let buyingPower, let reserved, let shorts):
                let statement = machine.capitalStatement(member: "alice") { _ in 100 }
                #expect(statement.cash == cash, "\(step): cash \(statement.cash)")
                #expect(statement.buyingPower == buyingPower, "\(step): buying power \(statement.buyingPower)")
                #expect(statement.reserved == reserved, "\(step): reserved \(statement.reserved)")
                #expect(statement.shortCollateral == shorts, "\(step): shorts \(statement.shortCollateral)")
            }
        }
    }

    @Test("the refusal names the figures: what the order needs, buying power, capital, cash, reserved")
    func refusalMessage() {
        var machine = Self.machine()
        let ticket = OrderTicket(
            symbol: "AAPL", qty: "6", side: "buy", orderType: "limit", timeInForce: "day", limitPrice: "190.25")
        guard
            case .refuse(.risk(let rejection)) = machine.admit(
                ticket, member: "alice", strategy: "", orderId: "b1", now: Self.start, lastPrice: 190)
        else {
            Issue.record("not refused")
            return
        }
        #expect(
            rejection.message
                == "insufficient buying power: this order needs 1141.5 (6 AAPL at 190.25, its limit) but buying power is 1000 (capital 1000, cash 1000, reserved by open orders 0, held for shorts 0)"
        )
    }

    /// Orders priced away from the market, each against alice's 1000 with AAPL at 100.
    static let farFromTheMarket: [(ticket: OrderTicket, last: Decimal?, refused: String?)] = [
        // A buy stop at 0.01 triggers at once and fills at the market: 20 × 100, not 20 × 0.01.
        (
            OrderTicket(symbol: "AAPL", qty: "20", side: "buy", orderType: "stop", stopPrice: "0.01"), 100,
            "needs 2000 (20 AAPL at 100, the last price, above its stop 0.01)"
        ),
        (OrderTicket(symbol: "AAPL", qty: "9", side: "buy", orderType: "stop", stopPrice: "0.01"), 100, nil),
        // A sell limit at 0.01 opening a short fills at the market too.
        (
            OrderTicket(symbol: "AAPL", qty: "20", side: "sell", orderType: "limit", limitPrice: "0.01"), 100,
            "needs 2000 (20 AAPL at 100, the last price, above its limit 0.01)"
        ),
        // A buy stop above the market is worth its stop.
        (
            OrderTicket(symbol: "AAPL", qty: "9", side: "buy", orderType: "stop", stopPrice: "150"), 100,
            "needs 1350 (9 AAPL at 150, its stop)"
        ),
        // With no price known a buy stop and a sell limit cannot be valued; a buy limit can.
        (
            OrderTicket(symbol: "AAPL", qty: "1", side: "buy", orderType: "stop", stopPrice: "0.01"), nil,
            "cannot check buying power: no price is known for AAPL yet"
        ),
        (
            OrderTicket(symbol: "AAPL", qty: "1", side: "sell", orderType: "limit", limitPrice: "0.01"), nil,
            "cannot check buying power: no price is known for AAPL yet"
        ),
        (OrderTicket(symbol: "AAPL", qty: "1", side: "buy", orderType: "limit", limitPrice: "0.01"), nil, nil),
    ]

    @Test(
        "orders priced away from the market are valued at the worst price they can fill at", arguments: farFromTheMarket
    )
    func awayFromTheMarket(ticket: OrderTicket, last: Decimal?, refused: String?) {
        var machine = Self.machine()
        let decision = machine.admit(
            ticket, member: "alice", strategy: "", orderId: "o1", now: Self.start, lastPrice: last)
        switch (decision, refused) {
        case (.journal, nil): break
        case (.refuse(.risk(let rejection)), let fragment?):
            #expect(rejection.limit == "buying_power")
            #expect(rejection.message.contains(fragment), "\(rejection.message)")
        default: Issue.record("\(ticket): \(decision), expected \(refused ?? "journal")")
        }
    }

    @Test("a buy stop admitted under the market reserves the market's value, not its stop's")
    func stopReservation() {
        var machine = Self.machine()
        let ticket = OrderTicket(symbol: "AAPL", qty: "5", side: "buy", orderType: "stop", stopPrice: "0.01")
        guard
            case .journal = machine.admit(
                ticket, member: "alice", strategy: "", orderId: "s1", now: Self.start, lastPrice: 100)
        else {
            Issue.record("refused")
            return
        }
        let statement = machine.capitalStatement(member: "alice") { _ in 100 }
        #expect(statement.reserved == 500 && statement.buyingPower == 500)
    }

    @Test("restored holdings keep the cash the ledger left: cost basis out, realized profit in")
    func restore() {
        var machine = Self.machine()
        var held = Position()
        held.apply(side: .buy, qty: 10, price: 50)
        held.apply(side: .sell, qty: 5, price: 60)
        machine.restore(holdings: [("alice", "AAPL", held)], open: [], halts: [])
        let statement = machine.capitalStatement(member: "alice") { _ in 70 }
        // 1000 of capital, 500 paid for 10, 300 back for 5 of them.
        #expect(statement.cash == 800)
        #expect(statement.longMarketValue == 350 && statement.equity == 1150)
    }
}

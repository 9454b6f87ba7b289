import DeskCore
import DeskLedger
import DeskOrders
import Foundation
import Testing

/// The admission machine alone: no ledger, no broker, no clock but the one passed in.
@Suite("Admission state machine")
struct AdmissionTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static let limits = RiskLimits(
        maxOrderQty: 100, maxOrderNotional: 5_000, maxPosition: 150, maxOpenOrders: 3, ordersPerSecond: 1,
        orderBurst: 2, allowedSymbols: nil, deniedSymbols: ["GME"])

    static func machine(_ limits: RiskLimits = limits) -> Admission {
        Admission(
            policy: RiskPolicy(
                defaults: limits,
                members: [
                    "fast": RiskLimitsOverride().setting(\.ordersPerSecond, to: 1_000).setting(\.orderBurst, to: 1_000)
                ]),
            rules: OrderRules())
    }

    static func ticket(
        _ symbol: String = "AAPL", qty: String = "10", side: String = "buy", type: String = "", limit: String = "",
        tif: String = ""
    ) -> OrderTicket {
        OrderTicket(symbol: symbol, qty: qty, side: side, orderType: type, timeInForce: tif, limitPrice: limit)
    }

    /// One step of a scenario and what the machine must answer.
    enum Step: Sendable, CustomStringConvertible {
        /// Admit an order; `expect` is "journal" or the refused rule (`invalid:qty`, `halted`, `rate`, `risk:max_position`).
        case admit(String, OrderTicket, member: String = "alice", at: Double = 0, expect: String)
        case journaled(String, expect: String)
        case journalFailed(String)
        /// The ledger booked a fill of `qty` (cumulative `filled`) of an order of `total`.
        case filled(String, qty: Decimal, filled: Decimal, total: Decimal)
        /// The ledger booked a final status.
        case final(String, OrderStatus, filled: Decimal, total: Decimal)
        case halt(String)
        case resume(String)

        var description: String {
            switch self {
            case .admit(let id, _, let member, _, let expect): "admit \(id) for \(member) → \(expect)"
            case .journaled(let id, let expect): "journaled \(id) → \(expect)"
            case .journalFailed(let id): "journal of \(id) failed"
            case .filled(let id, let qty, _, _): "\(id) filled \(qty)"
            case .final(let id, let status, _, _): "\(id) \(status.rawValue)"
            case .halt(let scope): "halt \(scope)"
            case .resume(let scope): "resume \(scope)"
            }
        }
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var steps: [Step]
        var testDescription: String { name }
    }

    static func label(_ decision: Admission.Decision) -> String {
        switch decision {
        case .journal: "journal"
        case .refuse(.invalid(let error)): "invalid:\(error.field)"
        case .refuse(.halted): "halted"
        case .refuse(.rateLimited): "rate"
        case .refuse(.risk(let rejection)): "risk:\(rejection.limit)"
        }
    }

    static func label(_ after: Admission.AfterJournal) -> String {
        switch after {
        case .send: "send"
        case .stop: "stop"
        case .none: "none"
        }
    }

    static func progress(_ status: OrderStatus, filled: Decimal, total: Decimal) throws -> OrderProgress {
        var progress = OrderProgress(qty: total)
        if filled > 0 { try progress.apply(.fill(qty: filled, price: 10)) }
        switch status {
        case .canceled: try progress.apply(.canceled(reason: nil))
        case .expired: try progress.apply(.expired)
        case .rejected: try progress.apply(.rejected(reason: "no"))
        default: break
        }
        return progress
    }

    static func run(_ steps: [Step], on machine: inout Admission) throws {
        for step in steps {
            switch step {
            case .admit(let id, let ticket, let member, let at, let expect):
                let decision = machine.admit(
                    ticket, member: member, strategy: "", orderId: id, now: start.addingTimeInterval(at),
                    lastPrice: 10)
                #expect(label(decision) == expect, "\(step)")
            case .journaled(let id, let expect):
                #expect(label(machine.journaled(id)) == expect, "\(step)")
            case .journalFailed(let id):
                machine.journalFailed(id)
            case .filled(let id, let qty, let filled, let total):
                machine.booked(
                    id, member: "alice", symbol: "AAPL", side: .buy,
                    progress: try progress(filled == total ? .filled : .partiallyFilled, filled: filled, total: total),
                    filled: qty)
            case .final(let id, let status, let filled, let total):
                machine.booked(
                    id, member: "alice", symbol: "AAPL", side: .buy,
                    progress: try progress(status, filled: filled, total: total), filled: nil)
            case .halt(let scope):
                machine.halt(HaltRecord(scope: scope, reason: "runaway", haltedBy: "root", haltedAt: start))
            case .resume(let scope):
                machine.resume(scope: scope, expected: machine.halt(scope: scope))
            }
        }
    }

    @Test(
        "rules, in order",
        arguments: [
            Scenario(name: "a valid order is journaled", steps: [.admit("a", ticket(), expect: "journal")]),
            Scenario(
                name: "validation comes first, even when halted",
                steps: [.halt("*"), .admit("a", ticket(qty: "-1"), expect: "invalid:qty")]),
            Scenario(
                name: "lowercase symbols are invalid", steps: [.admit("a", ticket("aapl"), expect: "invalid:symbol")]),
            Scenario(
                name: "a whole-desk halt refuses everyone",
                steps: [
                    .halt("*"), .admit("a", ticket(), expect: "halted"),
                    .admit("b", ticket(), member: "bob", expect: "halted"),
                ]),
            Scenario(
                name: "a member's halt refuses only that member",
                steps: [
                    .halt("alice"), .admit("a", ticket(), expect: "halted"),
                    .admit("b", ticket(), member: "bob", expect: "journal"),
                ]),
            Scenario(
                name: "resume lets orders through again",
                steps: [.halt("alice"), .resume("alice"), .admit("a", ticket(), expect: "journal")]),
            Scenario(
                name: "the rate bucket allows the burst, then refills with the time passed in",
                steps: [
                    .admit("a", ticket(qty: "1"), expect: "journal"), .admit("b", ticket(qty: "1"), expect: "journal"),
                    .admit("c", ticket(qty: "1"), expect: "rate"),
                    .admit("d", ticket(qty: "1"), at: 0.5, expect: "rate"),
                    .admit("e", ticket(qty: "1"), at: 1.0, expect: "journal"),
                ]),
            Scenario(
                name: "rate buckets are per member and overridable",
                steps: [
                    .admit("a", ticket(qty: "1"), expect: "journal"), .admit("b", ticket(qty: "1"), expect: "journal"),
                    .admit("c", ticket(qty: "1"), member: "bob", expect: "journal"),
                    .admit("d", ticket(qty: "1"), member: "fast", expect: "journal"),
                    .admit("e", ticket(qty: "1"), member: "fast", expect: "journal"),
                    .admit("f", ticket(qty: "1"), member: "fast", expect: "journal"),
                ]),
            Scenario(name: "denied symbols", steps: [.admit("a", ticket("GME"), expect: "risk:denied_symbols")]),
            Scenario(name: "max order qty", steps: [.admit("a", ticket(qty: "101"), expect: "risk:max_order_qty")]),
            Scenario(
                name: "max notional at the limit price",
                steps: [.admit("a", ticket(qty: "100", type: "limit", limit: "51"), expect: "risk:max_order_notional")]),
        ])
    func rules(scenario: Scenario) throws {
        var machine = Self.machine()
        try Self.run(scenario.steps, on: &machine)
    }

    @Test(
        "reservations: orders in flight count before anything is written",
        arguments: [
            Scenario(
                name: "two orders in flight cannot jointly pass max_position",
                steps: [
                    .admit("a", ticket(qty: "100"), member: "fast", expect: "journal"),
                    .admit("b", ticket(qty: "60"), member: "fast", expect: "risk:max_position"),
                    .admit("c", ticket(qty: "50"), member: "fast", expect: "journal"),
                ]),
            Scenario(
                name: "sells reserve the other side: buys are not held back by them",
                steps: [
                    .admit("a", ticket(qty: "100", side: "sell"), member: "fast", expect: "journal"),
                    .admit("b", ticket(qty: "100"), member: "fast", expect: "journal"),
                    .admit("c", ticket(qty: "60", side: "sell"), member: "fast", expect: "risk:max_position"),
                ]),
            Scenario(
                name: "max open orders counts orders not yet journaled",
                steps: [
                    .admit("a", ticket(qty: "1"), member: "fast", expect: "journal"),
                    .admit("b", ticket(qty: "1"), member: "fast", expect: "journal"),
                    .admit("c", ticket(qty: "1"), member: "fast", expect: "journal"),
                    .admit("d", ticket(qty: "1"), member: "fast", expect: "risk:max_open_orders"),
                ]),
            Scenario(
                name: "a failed journal releases its reservation",
                steps: [
                    .admit("a", ticket(qty: "100"), member: "fast", expect: "journal"), .journalFailed("a"),
                    .admit("b", ticket(qty: "100"), member: "fast", expect: "journal"),
                ]),
        ])
    func reservations(scenario: Scenario) throws {
        var machine = Self.machine()
        try Self.run(scenario.steps, on: &machine)
    }

    @Test("a fill moves quantity from open to held; a final status releases the rest")
    func fillsAndFinals() throws {
        var machine = Self.machine()
        try Self.run(
            [
                .admit(
                    "a", Self.ticket(qty: "100", type: "limit", limit: "10", tif: "gtc"), member: "fast",
                    expect: "journal"),
                .journaled("a", expect: "send"),
            ], on: &machine)
        #expect(machine.exposure(member: "fast", symbol: "AAPL", lastPrice: nil).openBuyQty == 100)
        machine.booked(
            "a", member: "fast", symbol: "AAPL", side: .buy,
            progress: try Self.progress(.partiallyFilled, filled: 40, total: 100), filled: 40)
        var exposure = machine.exposure(member: "fast", symbol: "AAPL", lastPrice: nil)
        #expect(exposure.position == 40 && exposure.openBuyQty == 60 && exposure.openOrders == 1)
        machine.booked(
            "a", member: "fast", symbol: "AAPL", side: .buy,
            progress: try Self.progress(.canceled, filled: 40, total: 100), filled: nil)
        exposure = machine.exposure(member: "fast", symbol: "AAPL", lastPrice: nil)
        #expect(exposure.position == 40 && exposure.openBuyQty == 0 && exposure.openOrders == 0)
        #expect(machine.openOrderIds.isEmpty)
        // 40 held + 110 = 150: at the limit, allowed; one more is not.
        try Self.run(
            [
                .admit("b", Self.ticket(qty: "100"), member: "fast", expect: "journal"),
                .admit("c", Self.ticket(qty: "11"), member: "fast", expect: "risk:max_position"),
            ], on: &machine)
    }

    @Test(
        "kill switches while orders are in flight",
        arguments: [
            Scenario(
                name: "an order journaled before the halt is stopped, not sent",
                steps: [
                    .admit("a", ticket(), expect: "journal"), .halt("alice"), .journaled("a", expect: "stop"),
                    .admit("b", ticket(), expect: "halted"),
                ]),
            Scenario(
                name: "a whole-desk halt stops every member's journaled orders",
                steps: [
                    .admit("a", ticket(), expect: "journal"), .admit("b", ticket(), member: "bob", expect: "journal"),
                    .halt("*"), .journaled("a", expect: "stop"), .journaled("b", expect: "stop"),
                ]),
            Scenario(
                name: "another member's halt does not stop this member's order",
                steps: [.admit("a", ticket(), expect: "journal"), .halt("bob"), .journaled("a", expect: "send")]),
            Scenario(
                name: "resumed before the journal was durable: the order goes",
                steps: [
                    .admit("a", ticket(), expect: "journal"), .halt("alice"), .resume("alice"),
                    .journaled("a", expect: "send"),
                ]),
            Scenario(
                name: "an unknown order id is nothing to send",
                steps: [.journaled("nope", expect: "none")]),
        ])
    func haltsInFlight(scenario: Scenario) throws {
        var machine = Self.machine()
        try Self.run(scenario.steps, on: &machine)
    }

    @Test("a resume answered after a new halt does not lift the new halt")
    func resumeRace() {
        var machine = Self.machine()
        let first = HaltRecord(scope: "alice", reason: "one", haltedBy: "root", haltedAt: Self.start)
        machine.halt(first)
        let expected = machine.halt(scope: "alice")
        let second = HaltRecord(scope: "alice", reason: "two", haltedBy: "root", haltedAt: Self.start + 1)
        machine.halt(second)
        machine.resume(scope: "alice", expected: expected)
        #expect(machine.activeHalts == [second])
    }

    @Test("updates for an order still being written wait until it is recorded, then come out in order")
    func heldUpdates() throws {
        var machine = Self.machine()
        guard
            case .journal = machine.admit(
                Self.ticket(type: "limit", limit: "9", tif: "gtc"), member: "alice", strategy: "", orderId: "a",
                now: Self.start, lastPrice: 10)
        else {
            Issue.record("expected journal")
            return
        }
        let fill = OrderUpdate.fill(orderId: "a", qty: 10, price: 9, cumulativeQty: 10, at: Self.start)
        let other = OrderUpdate(orderId: "zzz", event: .accepted, at: Self.start)
        #expect(machine.arrived(fill).isEmpty)
        #expect(machine.arrived(other) == [other])
        var accepted = OrderProgress(qty: 10)
        try accepted.apply(.accepted)
        #expect(machine.recorded("a", progress: accepted) == [fill])
        #expect(machine.arrived(fill) == [fill])
    }

    @Test("restored state: positions, open orders and halts from the ledger count")
    func restore() throws {
        var machine = Self.machine()
        var partly = OrderProgress(qty: 50)
        try partly.apply(.fill(qty: 20, price: 10))
        let open = WorkingOrder(
            order: Order(
                id: "w", member: "fast", terms: OrderTerms(symbol: "AAPL", qty: 50, side: .buy, type: .limit),
                placedAt: Self.start), progress: partly)
        machine.restore(
            positions: [("fast", "AAPL", 70)], open: [open],
            halts: [HaltRecord(scope: "bob", reason: nil, haltedBy: nil, haltedAt: Self.start)])
        let exposure = machine.exposure(member: "fast", symbol: "AAPL", lastPrice: nil)
        #expect(exposure.position == 70 && exposure.openBuyQty == 30 && exposure.openOrders == 1)
        try Self.run(
            [
                .admit("a", Self.ticket(qty: "51"), member: "fast", expect: "risk:max_position"),
                .admit("b", Self.ticket(qty: "50"), member: "fast", expect: "journal"),
                .admit("c", Self.ticket(), member: "bob", expect: "halted"),
            ], on: &machine)
    }

    @Test("the same inputs give the same decisions (time and ids are inputs)")
    func deterministic() {
        func decisions() -> [Admission.Decision] {
            var machine = Self.machine()
            return (0..<5).map { index in
                machine.admit(
                    Self.ticket(qty: "1"), member: "alice", strategy: "s", orderId: "o\(index)",
                    now: Self.start.addingTimeInterval(Double(index) * 0.3), lastPrice: 10)
            }
        }
        #expect(decisions() == decisions())
        guard case .journal(let order) = decisions()[0] else {
            Issue.record("expected journal")
            return
        }
        #expect(order.id == "o0" && order.placedAt == Self.start && order.strategy == "s")
    }
}

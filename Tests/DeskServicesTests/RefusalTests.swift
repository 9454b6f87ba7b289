import DeskBroker
import DeskCore
import DeskOrders
import DeskServices
import Foundation
import Testing

let record = OrderRecord(
    Order(id: "o-1", member: "alice", terms: OrderTerms(symbol: "AAPL", qty: 1, side: .buy), placedAt: Date()),
    progress: OrderProgress(qty: 1))

@Suite("Order refusals: from the order desk's placements, with the words every face shows")
struct RefusalTests {
    @Test(
        "each placement's refusal, its message and the order it recorded",
        arguments: [
            (
                OrderDesk.Placement.invalid(OrderValidationError(field: "qty", message: "qty must be positive")),
                "qty must be positive", false
            ),
            (
                .riskRejected(RiskRejection(limit: "max_position", message: "over 10")),
                "risk limit max_position: over 10", false
            ),
            (.rateLimited("slow down"), "slow down", false),
            (.halted("halted by root"), "halted by root", false),
            (.stopped(record, "halted after journaling"), "halted after journaling", true),
            (
                .brokerRefused(record, reason: "no price", kind: .invalidOrder), "broker rejected the order: no price",
                true
            ),
            (.failed("disk full"), "disk full", false),
        ])
    func fromPlacement(placement: OrderDesk.Placement, message: String, recorded: Bool) throws {
        let refusal = try #require(OrderRefusal(placement))
        #expect(refusal.message == message)
        #expect(placement.refusalMessage == message)
        #expect((refusal.order != nil) == recorded)
    }

    @Test("an accepted placement is no refusal")
    func accepted() {
        #expect(OrderRefusal(.accepted(record)) == nil)
    }

    @Test(
        "the trading rules' own refusals",
        arguments: [
            (OrderRefusal.clientOrderIdTaken("x1"), "client_order_id must be unique: x1 is taken"),
            (.noPosition(symbol: "NVDA"), "no position in NVDA"),
            (.nothingToClose(symbol: "AAPL"), "nothing to close: that is less than one share of AAPL"),
        ])
    func tradingRefusals(refusal: OrderRefusal, message: String) {
        #expect(refusal.message == message)
        #expect(refusal.order == nil)
    }
}

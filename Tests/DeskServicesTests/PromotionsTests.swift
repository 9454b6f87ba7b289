import DeskCore
import DeskLedger
import DeskPromotion
import DeskServices
import Foundation
import Logging
import Testing

/// The `Promotions` use case over a real ledger, without a supervisor: the desk's
/// demotion (the loss watch's entry) and a strategy's evidence from its own rows.
@Suite("Promotions over a ledger")
struct PromotionsTests {
    /// The cancels a use case asked for.
    actor Cancels {
        var calls: [String] = []
        func note(_ call: String) { calls.append(call) }
    }

    static func promotions(_ ledger: Ledger, cancels: Cancels) -> Promotions {
        Promotions(
            rules: PromotionRules(venues: ["paper": VenueEntryRules(), "live": VenueEntryRules(requiresApproval: true)]
            ),
            ledger: ledger, defaultVenue: "paper", demotionVenue: "paper", supervisor: nil,
            cancelOpenOrders: { member, strategy, venue in
                await cancels.note("\(member)/\(strategy)@\(venue)")
                return ["o-live-1"]
            },
            lastPrice: { _ in 110 }, logger: Logger(label: "test"))
    }

    @Test(
        "demote: the strategy moves to paper, its orders on its venue are canceled, the audit log says why; on paper already: nothing"
    )
    func demote() async throws {
        let ledger = try await ledgerWithHoldings()
        let cancels = Cancels()
        let promotions = Self.promotions(ledger, cancels: cancels)
        #expect(try await promotions.demote(member: "alice", strategy: "s1", reason: "max_daily_loss") == nil)
        #expect(await cancels.calls.isEmpty)
        try await ledger.moveStrategy(
            "s1", member: "alice", to: "live", by: "olivia", at: Date(),
            audit: AuditEvent(at: Date(), member: "alice", strategy: "s1", action: .strategyPromote, outcome: .accepted)
        )
        let move = try #require(
            try await promotions.demote(member: "alice", strategy: "s1", reason: "max_daily_loss 500 breached"))
        #expect(move.from == "live" && move.to == "paper" && move.canceledOrders == ["o-live-1"] && !move.restarted)
        #expect(move.positionsNote == "no open positions on live")
        #expect(await cancels.calls == ["alice/s1@live"])
        #expect(try await ledger.strategyVenue("s1") == "paper")
        #expect(try await promotions.venue(of: "s1") == "paper")
        let audit = try await ledger.auditEvents(member: "alice").filter { $0.action == .strategyPromote }
        #expect(audit.first?.detail == "moved from=live to=paper by=desk reason=max_daily_loss 500 breached")
    }

    @Test("evidence: the strategy's own orders and fills on its venue, P&L at the last price; none on another venue")
    func evidence() async throws {
        let ledger = try await ledgerWithHoldings()
        let promotions = Self.promotions(ledger, cancels: Cancels())
        let paper = try await promotions.evidence(member: "alice", strategy: "s1", on: "paper")
        #expect((paper.venue, paper.orders, paper.fills, paper.pnl, paper.sharpe) == ("paper", 1, 1, 100, nil))
        let live = try await promotions.evidence(member: "alice", strategy: "s1", on: "live")
        #expect((live.orders, live.fills, live.pnl, live.days) == (0, 0, 0, 0))
        let bob = try await promotions.evidence(member: "bob", strategy: "s1", on: "paper")
        #expect((bob.orders, bob.pnl) == (1, Decimal(-450)), "5 MSFT bought at 200, worth 110 each now")
    }
}

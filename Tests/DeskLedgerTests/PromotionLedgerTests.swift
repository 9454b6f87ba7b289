import DeskCore
import DeskLedger
import DeskTestSupport
import Foundation
import Testing

/// Approvals and strategies' venues in a real SQLite file, with racing writers.
@Suite("Promotions in the ledger")
struct PromotionLedgerTests {
    static func request(_ strategy: String = "alice--trend", by: String = "alice") -> PromotionRequest {
        PromotionRequest(
            id: 0, member: "alice", strategy: strategy, fromVenue: "paper", toVenue: "live", requestedBy: by,
            requestedAt: Date(timeIntervalSince1970: 1_800_000_000),
            evidence: PromotionEvidence(
                venue: "paper", days: 6, orders: 31, fills: 25, pnl: Decimal(string: "123.45")!,
                maxDrawdown: Decimal(string: "20.5")!, sharpe: Decimal(string: "1.25"), backtest: "/tmp/report"))
    }

    static func audit(_ action: AuditAction) -> AuditEvent {
        AuditEvent(at: Date(), member: "alice", strategy: "alice--trend", action: action, outcome: .ok)
    }

    @Test("eight racing requests for one strategy: one waits, seven are told one already does")
    func oneWaits() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let ledger = try Ledger(path: folder.path("desk.db"))
        let outcomes = try await withThrowingTaskGroup(of: Result<Int64, PromotionWriteError>.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        return .success(
                            try await ledger.addPromotionRequest(Self.request(), audit: Self.audit(.strategyPromote)).id
                        )
                    } catch let error as PromotionWriteError {
                        return .failure(error)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { if case .success = $0 { true } else { false } }.count == 1)
        #expect(outcomes.filter { $0 == .failure(.alreadyPending(strategy: "alice--trend")) }.count == 7)
        let pending = try await ledger.promotionRequests(status: .pending)
        #expect(pending.count == 1)
        var expected = Self.request()
        expected.id = pending[0].id
        #expect(pending[0] == expected)  // evidence read back exactly, decimals included
        // Another strategy's request is its own.
        _ = try await ledger.addPromotionRequest(Self.request("alice--other"), audit: Self.audit(.strategyPromote))
        #expect(try await ledger.promotionRequests(status: .pending).count == 2)
    }

    @Test("an approval and a rejection racing: one decision stands; the approval moves the strategy in the same write")
    func oneDecision() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let path = folder.path("desk.db")
        var approvedOnce = 0
        for round in 0..<10 {
            let ledger = try Ledger(path: path)
            let strategy = "alice--s\(round)"
            let waiting = try await ledger.addPromotionRequest(
                Self.request(strategy), audit: Self.audit(.strategyPromote))
            var approval = waiting
            approval.status = .approved
            approval.decidedBy = "olivia"
            approval.decidedAt = Date()
            var rejection = waiting
            rejection.status = .rejected
            rejection.decidedBy = "root"
            rejection.decidedAt = Date()
            rejection.reason = "not yet"
            async let approved: Bool = {
                do {
                    try await ledger.decidePromotion(approval, audit: Self.audit(.approvalApprove))
                    return true
                } catch { return false }
            }()
            async let rejected: Bool = {
                do {
                    try await ledger.decidePromotion(rejection, audit: Self.audit(.approvalReject))
                    return true
                } catch { return false }
            }()
            let (a, r) = await (approved, rejected)
            #expect(a != r, "round \(round): approved \(a), rejected \(r)")
            let stored = try #require(try await ledger.promotionRequest(id: waiting.id))
            let venues = try await ledger.strategyVenues()
            if a {
                approvedOnce += 1
                #expect(stored.status == .approved && stored.decidedBy == "olivia")
                #expect(venues[strategy] == "live")
            } else {
                #expect(stored.status == .rejected && stored.reason == "not yet")
                #expect(venues[strategy] == nil)
            }
            // A third decision finds it decided.
            await #expect(throws: PromotionWriteError.notPending(id: waiting.id)) {
                try await ledger.decidePromotion(approval, audit: Self.audit(.approvalApprove))
            }
        }
        // The file, opened again as a restarted desk would: every venue as decided.
        let reopened = try Ledger(path: path)
        #expect(try await reopened.strategyVenues().count == approvedOnce)
        #expect(try await reopened.promotionRequests().count == 10)
        #expect(try await reopened.promotionRequests(status: .pending).isEmpty)
    }

    @Test("a move without approval: the venue changes at once and a demotion back is just another move")
    func moves() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let ledger = try Ledger(path: folder.path("desk.db"))
        try await ledger.moveStrategy(
            "alice--trend", member: "alice", to: "alpaca_paper", by: "alice", at: Date(),
            audit: Self.audit(.strategyPromote))
        #expect(try await ledger.strategyVenues() == ["alice--trend": "alpaca_paper"])
        try await ledger.moveStrategy(
            "alice--trend", member: "alice", to: "paper", by: "olivia", at: Date(), audit: Self.audit(.strategyPromote))
        #expect(try await ledger.strategyVenues() == ["alice--trend": "paper"])
    }
}

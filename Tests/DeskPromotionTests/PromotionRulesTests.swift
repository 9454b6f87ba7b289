import DeskCore
import DeskPromotion
import Foundation
import Testing

@Suite("Promotion rules")
struct PromotionRulesTests {
    static let rules = PromotionRules(venues: [
        "paper": VenueEntryRules(),
        "alpaca_paper": VenueEntryRules(),
        "live": VenueEntryRules(requiresApproval: true, minPaperDays: 5, minFills: 20),
    ])
    static let alice = PromotionActor(member: "alice", role: .member)
    static let bob = PromotionActor(member: "bob", role: .member)
    static let olivia = PromotionActor(member: "olivia", role: .officer)
    static let root = PromotionActor(member: "root", role: .admin)
    static let aliceOfficer = PromotionActor(member: "alice", role: .officer)

    static func evidence(days: Int = 10, fills: Int = 40) -> PromotionEvidence {
        PromotionEvidence(venue: "paper", days: days, orders: fills, fills: fills, pnl: 12, maxDrawdown: 3, sharpe: 1)
    }

    static func pending(id: Int64 = 7, to venue: String = "live", status: PromotionStatus = .pending)
        -> PromotionRequest
    {
        PromotionRequest(
            id: id, member: "alice", strategy: "trend", fromVenue: "paper", toVenue: venue, requestedBy: "alice",
            requestedAt: Date(timeIntervalSince1970: 0), evidence: evidence(), status: status,
            decidedBy: status == .pending ? nil : "olivia")
    }

    struct RequestCase: Sendable, CustomTestStringConvertible {
        var name: String
        var on: String
        var to: String
        var by: PromotionActor
        var evidence: PromotionEvidence
        var pending: PromotionRequest?
        var expected: Result<PromotionStep, PromotionRefusal>
        var testDescription: String { name }
    }

    static let requests: [RequestCase] = [
        RequestCase(
            name: "member to a venue that needs approval: pending", on: "paper", to: "live", by: alice,
            evidence: evidence(), expected: .success(.awaitApproval(from: "paper", to: "live"))),
        RequestCase(
            name: "member to a venue without approval: at once", on: "paper", to: "alpaca_paper", by: alice,
            evidence: evidence(days: 0, fills: 0), expected: .success(.move(from: "paper", to: "alpaca_paper"))),
        RequestCase(
            name: "demotion by the member, with a request pending: at once", on: "live", to: "paper", by: alice,
            evidence: evidence(days: 0, fills: 0), pending: pending(to: "live"),
            expected: .success(.move(from: "live", to: "paper"))),
        RequestCase(
            name: "demotion by an officer", on: "live", to: "paper", by: olivia, evidence: evidence(),
            expected: .success(.move(from: "live", to: "paper"))),
        RequestCase(
            name: "officer on a member's behalf: pending", on: "paper", to: "live", by: olivia, evidence: evidence(),
            expected: .success(.awaitApproval(from: "paper", to: "live"))),
        RequestCase(
            name: "another member: not theirs", on: "paper", to: "live", by: bob, evidence: evidence(),
            expected: .failure(.notYours(strategy: "trend"))),
        RequestCase(
            name: "another member demoting: not theirs either", on: "live", to: "paper", by: bob,
            evidence: evidence(), expected: .failure(.notYours(strategy: "trend"))),
        RequestCase(
            name: "unknown venue, named with the known ones", on: "paper", to: "moon", by: alice,
            evidence: evidence(),
            expected: .failure(.unknownVenue("moon", known: ["alpaca_paper", "live", "paper"]))),
        RequestCase(
            name: "already there", on: "live", to: "live", by: alice, evidence: evidence(),
            expected: .failure(.alreadyOn(venue: "live"))),
        RequestCase(
            name: "a second request while one waits", on: "paper", to: "live", by: alice, evidence: evidence(),
            pending: pending(id: 9), expected: .failure(.alreadyPending(id: 9, toVenue: "live"))),
        RequestCase(
            name: "a decided request does not block a new one", on: "paper", to: "live", by: alice,
            evidence: evidence(), pending: pending(id: 9, status: .rejected),
            expected: .success(.awaitApproval(from: "paper", to: "live"))),
        RequestCase(
            name: "too few days on paper", on: "paper", to: "live", by: alice, evidence: evidence(days: 4),
            expected: .failure(.belowMinimum(venue: "live", rule: "min_paper_days", required: 5, actual: 4))),
        RequestCase(
            name: "too few fills", on: "paper", to: "live", by: alice, evidence: evidence(fills: 19),
            expected: .failure(.belowMinimum(venue: "live", rule: "min_fills", required: 20, actual: 19))),
        RequestCase(
            name: "exactly the minimums", on: "paper", to: "live", by: alice, evidence: evidence(days: 5, fills: 20),
            expected: .success(.awaitApproval(from: "paper", to: "live"))),
    ]

    @Test("requests", arguments: requests)
    func request(_ test: RequestCase) {
        let result = Self.rules.request(
            strategy: "trend", member: "alice", on: test.on, to: test.to, by: test.by, evidence: test.evidence,
            pending: test.pending)
        #expect(result == test.expected)
    }

    struct DecisionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var request: PromotionRequest
        var by: PromotionActor
        var currentVenue: String = "paper"
        var expected: PromotionRefusal?
        var testDescription: String { name }
    }

    static let approvals: [DecisionCase] = [
        DecisionCase(name: "an officer approves", request: pending(), by: olivia),
        DecisionCase(name: "the admin approves", request: pending(), by: root),
        DecisionCase(
            name: "a member cannot approve", request: pending(), by: bob, expected: .notAnOfficer(member: "bob")),
        DecisionCase(
            name: "the requesting member, though an officer, cannot approve their own", request: pending(),
            by: aliceOfficer, expected: .selfApproval(member: "alice", id: 7)),
        DecisionCase(
            name: "an approved request cannot be approved again", request: pending(status: .approved), by: root,
            expected: .alreadyDecided(id: 7, status: .approved, by: "olivia")),
        DecisionCase(
            name: "a rejected one neither", request: pending(status: .rejected), by: root,
            expected: .alreadyDecided(id: 7, status: .rejected, by: "olivia")),
        DecisionCase(
            name: "the strategy moved since", request: pending(), by: olivia, currentVenue: "alpaca_paper",
            expected: .movedSinceRequest(id: 7, requestedFrom: "paper", now: "alpaca_paper")),
    ]

    @Test("approvals", arguments: approvals)
    func approve(_ test: DecisionCase) {
        let at = Date(timeIntervalSince1970: 100)
        let result = Self.rules.approve(test.request, by: test.by, currentVenue: test.currentVenue, at: at)
        switch (result, test.expected) {
        case (.success(let decided), nil):
            #expect(decided.status == .approved && decided.decidedBy == test.by.member && decided.decidedAt == at)
        case (.failure(let refusal), let expected?):
            #expect(refusal == expected)
            #expect(!refusal.description.isEmpty)
        default:
            Issue.record("\(result) where \(String(describing: test.expected)) was expected")
        }
    }

    @Test("rejections need an officer, a pending request and a reason")
    func reject() {
        let at = Date(timeIntervalSince1970: 100)
        let rejected = Self.rules.reject(Self.pending(), by: Self.olivia, reason: "  too short a record ", at: at)
        #expect(
            (try? rejected.get()).map { ($0.status, $0.reason, $0.decidedBy) } ?? (.pending, nil, nil)
                == (.rejected, "too short a record", "olivia"))
        #expect(
            Self.rules.reject(Self.pending(), by: Self.bob, reason: "no", at: at)
                == .failure(.notAnOfficer(member: "bob")))
        #expect(Self.rules.reject(Self.pending(), by: Self.olivia, reason: " ", at: at) == .failure(.reasonMissing))
        #expect(
            Self.rules.reject(Self.pending(status: .approved), by: Self.olivia, reason: "late", at: at)
                == .failure(.alreadyDecided(id: 7, status: .approved, by: "olivia")))
    }
}

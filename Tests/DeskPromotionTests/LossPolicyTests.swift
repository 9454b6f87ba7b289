import DeskPromotion
import Foundation
import Testing

@Suite("Loss policy: venues' rules and members' overrides")
struct LossPolicyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var venues: [String: LossRulesEntry]
        var members: [String: [String: LossRulesEntry]]
        /// The scope asked about, and the limits expected (nil: a problem is expected instead).
        var scope: LossScope
        var expected: LossLimits?
        var problem: String?
        var testDescription: String { name }
    }

    static let live = LossScope(member: "alice", strategy: "trend", venue: "live")
    static let aliceLive = LossScope(member: "alice", venue: "live")

    static let cases: [Case] = [
        Case(
            name: "nothing configured: no rule, demote off paper", venues: [:], members: [:], scope: live,
            expected: LossLimits(onBreach: .demote)),
        Case(
            name: "nothing configured: stop on paper", venues: [:], members: [:],
            scope: LossScope(member: "alice", strategy: "trend", venue: "paper"), expected: LossLimits(onBreach: .stop)),
        Case(
            name: "a venue's strategy rules", venues: ["live": LossRulesEntry(strategy: [.maxDailyLoss: 500])],
            members: [:], scope: live, expected: LossLimits(maxDailyLoss: 500)),
        Case(
            name: "the member book reads the member rules, not the strategy's",
            venues: ["live": LossRulesEntry(strategy: [.maxDailyLoss: 500], member: [.maxPositionValue: 9000])],
            members: [:], scope: aliceLive, expected: LossLimits(maxPositionValue: 9000)),
        Case(
            name: "a member's override sets, removes and keeps",
            venues: ["live": LossRulesEntry(strategy: [.maxDailyLoss: 500, .maxDrawdown: 800, .maxPositionValue: 7])],
            members: ["alice": ["live": LossRulesEntry(strategy: [.maxDailyLoss: 200, .maxDrawdown: nil])]],
            scope: live, expected: LossLimits(maxDailyLoss: 200, maxPositionValue: 7)),
        Case(
            name: "another member keeps the venue's rules",
            venues: ["live": LossRulesEntry(strategy: [.maxDailyLoss: 500])],
            members: ["alice": ["live": LossRulesEntry(strategy: [.maxDailyLoss: 200])]],
            scope: LossScope(member: "bob", strategy: "x", venue: "live"), expected: LossLimits(maxDailyLoss: 500)),
        Case(
            name: "on_breach applies to both the strategy and the member rules",
            venues: ["live": LossRulesEntry(member: [.maxDailyLoss: 1], onBreach: .stop)], members: [:],
            scope: aliceLive, expected: LossLimits(maxDailyLoss: 1, onBreach: .stop)),
        Case(
            name: "a member's override on a venue without rules",
            venues: [:], members: ["alice": ["live": LossRulesEntry(strategy: [.maxDrawdown: 50])]], scope: live,
            expected: LossLimits(maxDrawdown: 50)),
        Case(
            name: "an unknown venue", venues: ["lve": LossRulesEntry()], members: [:], scope: live, expected: nil,
            problem: #"venues.lve.loss: "lve" is not a configured venue: use one of live, paper"#),
        Case(
            name: "an unknown venue in a member's override", venues: [:],
            members: ["alice": ["x": LossRulesEntry()]], scope: live, expected: nil,
            problem: #"risk.members.alice.loss.x: "x" is not a configured venue: use one of live, paper"#),
        Case(
            name: "demote from paper", venues: ["paper": LossRulesEntry(onBreach: .demote)], members: [:],
            scope: live, expected: nil,
            problem:
                #"venues.paper.loss.on_breach: a strategy on the paper venue "paper" cannot be demoted: use "stop""#
        ),
    ]

    @Test("resolve", arguments: cases)
    func resolve(_ test: Case) {
        let result = LossPolicy.resolve(
            venues: test.venues, members: test.members, venueNames: ["paper", "live"], paperVenue: "paper")
        switch result {
        case .success(let policy):
            #expect(test.problem == nil, "accepted")
            #expect(policy.limits(test.scope) == test.expected)
        case .failure(let problem):
            #expect(problem.message == test.problem)
        }
    }

    @Test("isEmpty: no rule anywhere")
    func empty() throws {
        #expect(LossPolicy().isEmpty)
        let responseOnly = try LossPolicy.resolve(
            venues: ["live": LossRulesEntry(onBreach: .stop)], members: [:], venueNames: ["live"], paperVenue: "paper"
        ).get()
        #expect(responseOnly.isEmpty)
        let member = try LossPolicy.resolve(
            venues: [:], members: ["a": ["live": LossRulesEntry(member: [.maxDrawdown: 1])]], venueNames: ["live"],
            paperVenue: "paper"
        ).get()
        #expect(!member.isEmpty)
    }
}

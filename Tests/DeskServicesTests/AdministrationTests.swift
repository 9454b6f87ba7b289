import DeskBroker
import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import DeskServices
import Foundation
import Logging
import Testing

@Suite("Administration: halts and tokens")
struct AdministrationTests {
    static let admin = AdminActor.caller(Caller(member: "root", isAdmin: true))
    static let member = AdminActor.caller(Caller(member: "alice"))
    static let metrics = AdminActor.caller(Caller(member: "prometheus", isMetricsOnly: true))

    @Test(
        "halt scopes: nothing is the whole desk, a member id is that member, anything else is refused",
        arguments: [
            (nil, HaltScope.desk, nil), ("alice", .member("alice"), nil),
            ("al ice", nil, AdminRefusal.invalidMember("al ice")), ("", nil, .invalidMember("")),
        ] as [(String?, HaltScope?, AdminRefusal?)])
    func haltScope(member: String?, scope: HaltScope?, refusal: AdminRefusal?) throws {
        let outcome = try attempt(AdminRefusal.self) { try HaltScope(member: member) }
        #expect(outcome == refusal.map { .failure($0) } ?? scope.map { .success($0) })
        if let scope { #expect(scope.key == (member ?? HaltRecord.wholeDesk)) }
    }

    @Test(
        "token kinds: member by default, the three the desk issues, nothing else",
        arguments: [
            (nil, TokenKind.member, nil), ("member", .member, nil), ("admin", .admin, nil),
            ("metrics", .metrics, nil), ("root", nil, AdminRefusal.unknownTokenKind("root")),
            ("strategy", nil, .unknownTokenKind("strategy")),
        ] as [(String?, TokenKind?, AdminRefusal?)])
    func kinds(raw: String?, kind: TokenKind?, refusal: AdminRefusal?) throws {
        let outcome = try attempt(AdminRefusal.self) { try TokenKind(parsing: raw) }
        #expect(outcome == refusal.map { .failure($0) } ?? kind.map { .success($0) })
    }

    @Test(
        "who may issue which token",
        arguments: [
            (admin, TokenKind.member, "alice", "", nil), (admin, .member, "alice", "s1", nil),
            (admin, .admin, "root2", "", nil), (admin, .metrics, "prometheus", "", nil),
            (AdminActor.ledgerOwner, .admin, "root", "", nil), (.ledgerOwner, .member, "alice", "s1", nil),
            (member, .member, "alice", "", AdminRefusal.notAdmin), (member, .admin, "alice", "", .notAdmin),
            (metrics, .metrics, "p2", "", .notAdmin),
            (admin, .member, "al/ice", "", .invalidMember("al/ice")),
            (admin, .member, "alice", "../s", .invalidStrategy("../s")),
            (admin, .metrics, "prometheus", "s1", .metricsTokenWithStrategy),
            (.ledgerOwner, .metrics, "prometheus", "s1", .metricsTokenWithStrategy),
        ] as [(AdminActor, TokenKind, String, String, AdminRefusal?)])
    func issueRules(actor: AdminActor, kind: TokenKind, member: String, strategy: String, refusal: AdminRefusal?)
        throws
    {
        let outcome = try attempt(AdminRefusal.self) {
            try TokenAdministration.check(issue: kind, member: member, strategy: strategy, by: actor)
        }
        #expect(outcome.map { "issued" } == (refusal.map { .failure($0) } ?? .success("issued")))
    }

    @Test("issue, list and revoke: an admin's steps are audited, the ledger owner's are not; a member is refused")
    func tokens() async throws {
        let ledger = try Ledger.inMemory(groupCommit: false)
        let tokens = TokenAdministration(ledger: ledger)
        let issued = try await tokens.issue(.metrics, member: "prometheus", strategy: "", by: Self.admin)
        #expect(issued.secret.hasPrefix(Ledger.tokenPrefix))
        #expect(issued.token.kind == .metrics && issued.token.issuedBy == "web")
        let own = try await tokens.issue(.admin, member: "root", strategy: "", by: .ledgerOwner)
        #expect(own.token.kind == .admin && own.token.issuedBy == "cli")
        #expect(try await tokens.list(by: Self.admin).map(\.id) == [own.token.id, issued.token.id])
        #expect(try await tokens.revoke(id: issued.token.id, by: Self.admin) == .revoked)
        #expect(try await tokens.revoke(id: issued.token.id, by: .ledgerOwner) == .alreadyRevoked)
        await #expect(throws: AdminRefusal.tokenNotFound(id: 99)) { try await tokens.revoke(id: 99, by: Self.admin) }
        await #expect(throws: AdminRefusal.notAdmin) { try await tokens.list(by: Self.member) }
        await #expect(throws: AdminRefusal.notAdmin) { try await tokens.revoke(id: own.token.id, by: Self.member) }
        let audit = try await ledger.auditEvents(limit: 10).map { "\($0.action.rawValue) \($0.outcome.rawValue)" }
        #expect(audit.sorted() == ["token_issue accepted", "token_revoke accepted"])
    }

    @Test("kill switches: an admin or an officer turns them on and off; a member may not")
    func killSwitches() async throws {
        let ledger = try Ledger.inMemory(groupCommit: false)
        var logger = Logger(label: "administration-test")
        logger.logLevel = .critical
        let desk = OrderDesk(
            ledger: ledger, venues: try Venues([PaperVenue()], defaultName: "paper"), prices: PriceBook(),
            policy: RiskPolicy(), metrics: NoMetrics(), logger: logger, reportedStatus: { _ in nil })
        let switches = KillSwitches(desk: desk)
        let admin = Caller(member: "root", isAdmin: true)
        try await switches.halt(.member("alice"), reason: "test", by: admin)
        #expect(try await switches.active(for: admin).map(\.scope) == ["alice"])
        await #expect(throws: AdminRefusal.notOverseer) {
            try await switches.halt(.desk, reason: nil, by: Caller(member: "alice"))
        }
        await #expect(throws: AdminRefusal.notOverseer) { try await switches.active(for: Caller(member: "alice")) }
        let officer = Caller(member: "olivia", role: .officer)
        try await switches.halt(.venue("paper"), reason: "drill", by: officer)
        #expect(try await switches.active(for: officer).map(\.scope) == ["alice", "venue:paper"])
        #expect(try await switches.resume(.venue("paper"), by: officer))
        #expect(try await switches.resume(.member("alice"), by: admin))
        #expect(try await !switches.resume(.member("alice"), by: admin))
        #expect(try await switches.active(for: admin).isEmpty)
    }
}

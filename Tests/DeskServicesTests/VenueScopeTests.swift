import DeskCore
import DeskIdentity
import DeskServices
import Foundation
import Testing

@Suite("Venue scopes: whose venue a read shows, what a halt or a token names")
struct VenueScopeTests {
    static let alicePaper = Caller(member: "alice", venue: "paper")
    static let aliceLive = Caller(member: "alice", venue: "live")
    static let legacy = Caller(member: "alice")
    static let officer = Caller(member: "olivia", role: .officer, venue: "paper")
    static let admin = Caller(member: "root", isAdmin: true)
    static let venues = ["paper", "live"]

    @Test(
        "the venue a read shows: a member's token its own, another refused; officers and the admin any, or every",
        arguments: [
            (alicePaper, nil, "paper", nil),
            (aliceLive, nil, "live", nil),
            (aliceLive, "live", "live", nil),
            (alicePaper, "live", nil, PortfolioRefusal.otherVenue(requested: "live", own: "paper")),
            (legacy, nil, "paper", nil),
            (officer, nil, nil, nil),
            (officer, "live", "live", nil),
            (admin, nil, nil, nil),
            (admin, "moon", nil, PortfolioRefusal.unknownVenue("moon", known: ["paper", "live"])),
            (alicePaper, "moon", nil, PortfolioRefusal.unknownVenue("moon", known: ["paper", "live"])),
        ] as [(Caller, String?, String?, PortfolioRefusal?)])
    func readScope(caller: Caller, requested: String?, shown: String?, refusal: PortfolioRefusal?) {
        do {
            let venue = try ReadScope.venue(
                requested: requested, caller: caller, defaultVenue: "paper", known: Self.venues)
            #expect(refusal == nil)
            #expect(venue == shown)
        } catch {
            #expect(error == refusal)
        }
    }

    @Test(
        "an order a member's token may read: their own, on its venue; officers and the admin any",
        arguments: [
            (alicePaper, "alice", "paper", true), (alicePaper, "alice", "live", false),
            (aliceLive, "alice", "live", true), (alicePaper, "bob", "paper", false), (officer, "bob", "live", true),
            (legacy, "alice", "paper", true), (legacy, "alice", "live", false),
        ] as [(Caller, String, String, Bool)])
    func mayRead(caller: Caller, owner: String, venue: String, allowed: Bool) {
        #expect(ReadScope.mayRead(orderOf: owner, venue: venue, caller: caller, defaultVenue: "paper") == allowed)
    }

    @Test(
        "a halt names one scope: none is the desk; a venue must be the desk's",
        arguments: [
            (nil, nil, nil, HaltScope.desk, nil),
            ("alice", nil, nil, .member("alice"), nil),
            (nil, "live", nil, .venue("live"), nil),
            (nil, nil, "s1", .strategy("s1"), nil),
            (nil, "moon", nil, nil, AdminRefusal.unknownVenue("moon", known: ["paper", "live"])),
            ("alice", "live", nil, nil, .ambiguousHaltScope),
            ("a b", nil, nil, nil, .invalidMember("a b")),
            (nil, nil, "../x", nil, .invalidStrategy("../x")),
        ] as [(String?, String?, String?, HaltScope?, AdminRefusal?)])
    func haltScope(member: String?, venue: String?, strategy: String?, scope: HaltScope?, refusal: AdminRefusal?) {
        do {
            let made = try HaltScope(member: member, venue: venue, strategy: strategy, venues: Self.venues)
            #expect(made == scope && refusal == nil)
        } catch {
            #expect(error == refusal)
        }
    }

    @Test(
        "how the ledger names each scope",
        arguments: [
            (HaltScope.desk, "*"), (.member("alice"), "alice"), (.venue("live"), "venue:live"),
            (.strategy("s1"), "strategy:s1"),
        ])
    func haltKeys(scope: HaltScope, key: String) {
        #expect(scope.key == key)
    }

    @Test(
        "a token's venue: only a member's token has one, and it must be the desk's",
        arguments: [
            (TokenKind.member, "live", nil), (.member, "", nil),
            (.member, "moon", AdminRefusal.unknownVenue("moon", known: ["paper", "live"])),
            (.officer, "live", .roleTokenWithVenue(.officer)), (.admin, "paper", .roleTokenWithVenue(.admin)),
            (.officer, "", nil),
        ] as [(TokenKind, String, AdminRefusal?)])
    func tokenVenue(kind: TokenKind, venue: String, refusal: AdminRefusal?) {
        do {
            try TokenAdministration.check(
                issue: kind, member: "alice", strategy: "", venue: venue, venues: Self.venues, by: .ledgerOwner)
            #expect(refusal == nil)
        } catch {
            #expect(error == refusal)
        }
    }
}

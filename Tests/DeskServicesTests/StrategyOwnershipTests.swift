import DeskIdentity
import DeskServices
import Testing

/// Who may act on which strategy: the decisions every face shares.
@Suite("Strategies: ownership")
struct StrategyOwnershipTests {
    static let mine = ["alice--trend", "alice-momentum"]

    @Test(
        "the folder a member means: one of theirs by folder name or by their deployed name; nothing else",
        arguments: [
            ("alice--trend", "alice--trend"),
            ("trend", "alice--trend"),
            ("alice-momentum", "alice-momentum"),
            ("momentum", nil),
            ("bob--trend", nil),
            ("../trend", nil),
            ("", nil),
        ] as [(String, String?)])
    func folder(given: String, expected: String?) {
        #expect(Strategies.folder(given, member: "alice", among: Self.mine) == expected)
    }

    @Test(
        "who may replace, roll back or delete a folder: the member who deployed it, or an admin",
        arguments: [
            ("alice--trend", Caller(member: "alice"), true),
            ("alice-momentum", Caller(member: "alice"), false),  // the admin put it in place
            ("bob--trend", Caller(member: "alice"), false),
            ("alice--trend", Caller(member: "alice--x"), false),
            ("alice-momentum", Caller(member: "root", isAdmin: true), true),
        ])
    func mayReplace(folder: String, caller: Caller, expected: Bool) {
        #expect(Strategies.mayReplace(folder, caller: caller) == expected)
    }

    @Test(
        "whose strategy a deploy is: the caller's, another member's only for an admin, and a member id at that",
        arguments: [
            (String?.none, Caller(member: "alice"), "alice"),
            ("alice", Caller(member: "alice"), "alice"),
            ("bob", Caller(member: "alice"), "refused: only an admin token may read another member's data"),
            ("bob", Caller(member: "root", isAdmin: true), "bob"),
            (nil, Caller(member: "root", isAdmin: true), "root"),
            ("../x", Caller(member: "root", isAdmin: true), "refused: member \"../x\" is not a member id"),
        ])
    func owner(requested: String?, caller: Caller, expected: String) {
        let answer: String
        do { answer = try Strategies.owner(requested: requested, caller: caller) } catch {
            answer = "refused: " + error.message
        }
        #expect(answer.hasPrefix(expected), "\(answer)")
    }
}

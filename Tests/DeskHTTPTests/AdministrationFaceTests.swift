import DeskCore
import Foundation
import HTTPTypes
import Testing

/// The HTTP face of the portfolio and administration use cases: each refusal
/// as its status and sentence, as the routes answered before the use cases existed
/// (and a metrics token bound to a strategy, which they issued and now refuse).
@Suite("Portfolio and administration refusals over HTTP")
struct AdministrationFaceTests {
    @Test(
        "token issue and revoke: what is refused, with which status and sentence",
        arguments: [
            ("POST", "/admin/tokens", #"{"member":"al ice"}"#, 400, #"member "al ice" is not a member id"#),
            (
                "POST", "/admin/tokens", #"{"member":"alice","strategy":"../x"}"#, 400,
                #"strategy "../x" is not a strategy name"#
            ),
            (
                "POST", "/admin/tokens", #"{"member":"alice","kind":"root"}"#, 400,
                #"kind "root" is not one of: member, admin, metrics"#
            ),
            (
                "POST", "/admin/tokens", #"{"member":"prometheus","kind":"metrics","strategy":"s1"}"#, 400,
                "a metrics token only reads /metrics: it takes no strategy"
            ),
            ("DELETE", "/admin/tokens/99", nil, 404, "no token with id 99"),
            ("POST", "/admin/halt", #"{"member":"a/b"}"#, 400, #"member "a/b" is not a member id"#),
            ("POST", "/admin/resume", #"{"member":"a b"}"#, 400, #"member "a b" is not a member id"#),
            (
                "POST", "/admin/reconcile", nil, 422,
                "this desk runs the paper broker, whose book is the ledger itself; reconciliation is for --broker alpaca"
            ),
        ] as [(String, String, String?, Int, String)])
    func adminRefusals(method: String, path: String, body: String?, status: Int, message: String) async throws {
        try await DeskHarness.run { desk in
            let (answered, reply) = try await desk.json(
                HTTPRequest.Method(method)!, path, token: desk.admin, body: body)
            #expect(Int(answered.code) == status)
            #expect((reply["message"] as? String)?.hasPrefix(message) == true, "\(reply)")
        }
    }

    @Test("a token issued over HTTP is listed, revoked once, and its issue and revocation are audited")
    func tokenLifecycle() async throws {
        try await DeskHarness.run { desk in
            let (issued, reply) = try await desk.json(
                .post, "/admin/tokens", token: desk.admin, body: #"{"member":"prometheus","kind":"metrics"}"#)
            #expect(issued == .ok)
            let token = try #require(reply["token"] as? [String: Any])
            #expect(token["kind"] as? String == "metrics" && token["issued_by"] as? String == "web")
            let id = try #require(token["id"] as? Int)
            #expect(
                try await desk.json(.delete, "/admin/tokens/\(id)", token: desk.admin).1["revoked"] as? Bool == true)
            #expect(
                try await desk.json(.delete, "/admin/tokens/\(id)", token: desk.admin).1["revoked"] as? Bool == false)
            let audit = try await desk.app.ledger.auditEvents(limit: 10).map { $0.outcome.rawValue }
            #expect(audit.sorted() == ["accepted", "accepted", "already_revoked"])
        }
    }

    @Test(
        "a member reading another member's figures is refused with 403; their own are answered",
        arguments: ["/positions", "/account", "/pnl", "/orders"])
    func otherMembersFigures(path: String) async throws {
        try await DeskHarness.run { desk in
            let alice = try await desk.token("alice")
            let (refused, reply) = try await desk.json(.get, path + "?member=bob", token: alice)
            #expect(refused == .forbidden)
            #expect(reply["message"] as? String == "only an admin or officer token may read another member's data")
            #expect(try await desk.json(.get, path + "?member=alice", token: alice).0 == .ok)
            #expect(try await desk.json(.get, path + "?member=bob", token: desk.admin).0 == .ok)
        }
    }
}

import DeskAPI
import DeskCore
import DeskLedger
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DeskHTTP

/// The web desk's session through the router: the cookie's flags, CSRF and
/// Origin on state-changing requests, sign-out and revocation, and a page that
/// never holds the token.
@Suite("Web desk sessions")
struct WebSessionTests {
    static let csrf = HTTPField.Name("X-CSRF-Token")!

    /// Signs in with `token`; the cookie's `name=value` and the whole Set-Cookie header.
    func signIn(_ harness: DeskHarness, token: String, headers extra: HTTPFields = [:]) async throws
        -> (cookie: String, header: String, reply: SessionReply)
    {
        var headers = HTTPFields([HTTPField(name: .contentType, value: "application/json")])
        headers.append(contentsOf: extra)
        let response = try await harness.client.execute(
            uri: "/session", method: .post, headers: headers,
            body: ByteBuffer(string: #"{"token": "\#(token)"}"#))
        #expect(response.status == .ok)
        let header = response.headers[.setCookie] ?? ""
        let reply = try APIJSON.decoder.decode(SessionReply.self, from: Data(buffer: response.body))
        return (String(header.split(separator: ";")[0]), header, reply)
    }

    func status(
        _ harness: DeskHarness, _ method: HTTPRequest.Method, _ uri: String, cookie: String,
        headers extra: HTTPFields = [:]
    ) async throws -> HTTPResponse.Status {
        var headers: HTTPFields = [.cookie: cookie]
        headers.append(contentsOf: extra)
        return try await harness.client.execute(uri: uri, method: method, headers: headers, body: nil).status
    }

    @Test("the cookie is HttpOnly and SameSite=Strict, Secure only over TLS; it holds no token")
    func cookie() async throws {
        try await DeskHarness.run { harness in
            let token = try await harness.token("alice")
            let plain = try await signIn(harness, token: token)
            #expect(plain.header.contains("HttpOnly") && plain.header.contains("SameSite=Strict"))
            #expect(!plain.header.contains("Secure"))
            #expect(!plain.header.contains(token))
            #expect(plain.reply.member == "alice" && plain.reply.admin == false)
            let proxied = try await signIn(
                harness, token: token, headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(proxied.header.contains("; Secure"))
            let page = try await harness.client.execute(
                uri: "/", method: .get, headers: [.cookie: plain.cookie], body: nil)
            let html = String(buffer: page.body)
            #expect(html.contains("Signed in as <strong id=\"member\">alice</strong>"))
            #expect(!html.contains(token))
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
        }
    }

    @Test("state changes need the CSRF value and the desk's own Origin; sign-out and revocation end the session")
    func csrfAndEnd() async throws {
        try await DeskHarness.run { harness in
            let token = try await harness.token("bob")
            let session = try await signIn(harness, token: token)
            let csrf = try #require(session.reply.csrfToken)
            #expect(try await status(harness, .get, "/session", cookie: session.cookie) == .ok)
            #expect(try await status(harness, .delete, "/session", cookie: session.cookie) == .forbidden)
            #expect(
                try await status(
                    harness, .delete, "/session", cookie: session.cookie,
                    headers: [Self.csrf: "not-it"]) == .forbidden)
            #expect(
                try await status(
                    harness, .delete, "/session", cookie: session.cookie,
                    headers: [Self.csrf: csrf, .origin: "https://evil.example"]) == .forbidden)
            #expect(
                try await status(harness, .delete, "/session", cookie: session.cookie, headers: [Self.csrf: csrf])
                    == .noContent)
            #expect(try await status(harness, .get, "/session", cookie: session.cookie) == .unauthorized)

            let again = try await signIn(harness, token: token)
            let id = try #require(try await harness.app.ledger.tokens().first { $0.member == "bob" }?.id)
            _ = try await harness.app.ledger.revokeToken(id: id)
            #expect(try await status(harness, .get, "/session", cookie: again.cookie) == .unauthorized)
        }
    }

    @Test("private answers are never stored; GET /session does not hand out the CSRF value")
    func privateAnswers() async throws {
        try await DeskHarness.run { harness in
            let token = try await harness.token("alice")
            for uri in [
                "/orders", "/positions", "/account", "/pnl", "/v2/account", "/v2/orders", "/v2/positions", "/session",
            ] {
                let response = try await harness.client.execute(
                    uri: uri, method: .get, headers: harness.headers(token: token, contentType: nil), body: nil)
                #expect(response.status == .ok, "\(uri)")
                #expect(
                    response.headers[.cacheControl] == "no-store",
                    "\(uri): \(response.headers[.cacheControl] ?? "none")")
            }
            let session = try await signIn(harness, token: token)
            #expect(session.reply.csrfToken != nil, "signing in hands the page its CSRF value")
            let whoAmI = try await harness.client.execute(
                uri: "/session", method: .get, headers: [.cookie: session.cookie], body: nil)
            #expect(whoAmI.status == .ok)
            #expect(whoAmI.headers[.cacheControl] == "no-store")
            #expect(!String(buffer: whoAmI.body).contains("csrf"), "\(String(buffer: whoAmI.body))")
        }
    }

    @Test("over TLS the cookie is a __Host- cookie, and each scheme reads only its own name")
    func hostCookie() async throws {
        try await DeskHarness.run { harness in
            let token = try await harness.token("alice")
            let https: HTTPFields = [HTTPField.Name("X-Forwarded-Proto")!: "https"]
            let secure = try await signIn(harness, token: token, headers: https)
            #expect(secure.cookie.hasPrefix("__Host-desk_session="), "\(secure.header)")
            #expect(secure.header.contains("; Secure") && secure.header.contains("Path=/"))
            #expect(!secure.header.lowercased().contains("domain="))
            #expect(try await status(harness, .get, "/session", cookie: secure.cookie, headers: https) == .ok)
            let value = secure.cookie.split(separator: "=", maxSplits: 1)[1]
            // Another service on the host could set a plain desk_session: over TLS it is not read.
            #expect(
                try await status(harness, .get, "/session", cookie: "desk_session=\(value)", headers: https)
                    == .unauthorized)
            #expect(try await status(harness, .get, "/session", cookie: secure.cookie) == .unauthorized)
            let plain = try await signIn(harness, token: token)
            #expect(plain.cookie.hasPrefix("desk_session="))
            #expect(try await status(harness, .get, "/session", cookie: plain.cookie) == .ok)
        }
    }

    @Test("a wrong or revoked token does not sign in, and says so")
    func refusedSignIn() async throws {
        try await DeskHarness.run { harness in
            let response = try await harness.client.execute(
                uri: "/session", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"token": "desk_nope"}"#))
            #expect(response.status == .unauthorized)
            #expect(String(buffer: response.body).contains("not valid"))
            #expect(response.headers[.setCookie] == nil)
        }
    }
}

@Suite("Web session store")
struct WebSessionStoreTests {
    @Test("a session expires after its lifetime and sign-out closes it")
    func expiry() async throws {
        let sessions = WebSessions(lifetime: .seconds(60), capacity: 2)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let first = try #require(await sessions.open(token: "t1", member: "alice", now: start))
        #expect(await sessions.session(id: first.id, now: start.addingTimeInterval(59))?.member == "alice")
        #expect(await sessions.session(id: first.id, now: start.addingTimeInterval(61)) == nil)
        let second = try #require(await sessions.open(token: "t2", member: "bob", now: start))
        await sessions.close(id: second.id)
        #expect(await sessions.session(id: second.id, now: start) == nil)
        #expect(first.csrf != first.id && WebSessions.same(first.csrf, first.csrf))
        #expect(!WebSessions.same(first.csrf, second.csrf))
    }

    @Test("a member past their cap loses their own oldest session, never another's; a full desk refuses")
    func caps() async throws {
        let sessions = WebSessions(lifetime: .seconds(60), capacity: 4, perMember: 2)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }
        let admin = try #require(await sessions.open(token: "root", member: "admin", now: at(0)))
        let a1 = try #require(await sessions.open(token: "a", member: "alice", now: at(1)))
        let a2 = try #require(await sessions.open(token: "a", member: "alice", now: at(2)))
        let a3 = try #require(await sessions.open(token: "a", member: "alice", now: at(3)))
        #expect(await sessions.session(id: a1.id, now: at(4)) == nil, "alice's oldest ended")
        #expect(await sessions.session(id: a2.id, now: at(4)) != nil)
        #expect(await sessions.session(id: a3.id, now: at(4)) != nil)
        #expect(await sessions.session(id: admin.id, now: at(4)) != nil, "the admin's session ended")
        _ = try #require(await sessions.open(token: "b", member: "bob", now: at(5)))
        #expect(await sessions.count == 4)
        #expect(await sessions.open(token: "c", member: "carol", now: at(6)) == nil, "a full desk signed one more in")
        #expect(await sessions.open(token: "a", member: "alice", now: at(7)) != nil, "alice replaces her own")
    }
}

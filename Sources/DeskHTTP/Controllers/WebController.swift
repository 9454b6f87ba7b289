import DeskAPI
import DeskCore
import DeskIdentity
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The web desk: the page at `/` (a sign-in form without a session), its
/// script and style sheet, signing in and out, and the page's live updates as
/// server-sent events. The page uses the same API a member's token does; the
/// session cookie is only another way of saying who one is.
struct WebController {
    let desk: WebDesk
    let sessions: WebSessions
    let tokens: TokenAuthenticator
    let settings: WebSettings
    let livePages: MemberSlots
    let logger: Logger

    /// The routes anyone may ask: the page, its assets, signing in.
    func addPublicRoutes(to router: some RouterMethods<DeskRequestContext>) {
        router.on(Routes.webPage, use: page)
        router.on(Routes.webAsset, use: asset)
        router.on(Routes.signIn, use: signIn)
    }

    /// The routes of a signed-in caller.
    func addMemberRoutes(to router: some RouterMethods<MemberContext>) {
        router.on(Routes.session, use: whoAmI)
        router.on(Routes.signOut, use: signOut)
        router.on(Routes.events, use: events)
    }

    /// What every page answer carries: no caching, no framing, scripts and styles from the desk only.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    /// The session a request's cookie names and the caller behind it, if both are still good.
    func signedIn(_ request: Request) async -> (caller: Caller, csrf: String, expires: Date)? {
        guard let id = WebSessions.cookie(of: request), let session = await sessions.session(id: id),
            let caller = try? await tokens.caller(authorization: "Bearer \(session.token)", claimedMember: nil)
        else { return nil }
        return (caller, session.csrf, session.expires)
    }

    @Sendable func page(_ request: Request, context: DeskRequestContext) async throws -> Response {
        try TokenController.noQuery(request)
        guard let (caller, csrf, _) = await signedIn(request) else {
            return Response(
                status: .ok, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: WebPage.signIn())))
        }
        context.identified(caller)
        let sections = try await desk.sections(for: caller, log: nil)
        return Response(
            status: .ok, headers: Self.pageHeaders,
            body: .init(
                byteBuffer: ByteBuffer(
                    string: WebPage.desk(
                        caller: caller, csrf: csrf, sections: sections,
                        venue: desk.venues.isSingle ? nil : desk.venues.shown(caller.venue)))))
    }

    @Sendable func asset(_ request: Request, context: DeskRequestContext) async throws -> Response {
        let file = try context.parameters.require("file")
        guard let (type, text) = WebAssets.files[file] else {
            throw DeskHTTPError(
                .notFound,
                "no asset \(OrderValidation.quoted(file)); the page has: \(WebAssets.files.keys.sorted().joined(separator: ", "))"
            )
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-cache", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func signIn(_ request: Request, context: DeskRequestContext) async throws -> Response {
        try SessionAuthenticator.checkOrigin(request)
        let body = try await request.decode(as: SessionRequest.self, context: context)
        let token = body.token.trimmingCharacters(in: .whitespacesAndNewlines)
        let caller: Caller
        do { caller = try await tokens.caller(authorization: "Bearer \(token)", claimedMember: nil) } catch {
            throw DeskHTTPError(
                error.kind == .unauthenticated
                    ? IdentityError(
                        .unauthenticated, "that token is not valid (unknown or revoked): ask the desk's admin for yours"
                    )
                    : error)
        }
        if caller.isMetricsOnly {
            throw DeskHTTPError(.forbidden, "a metrics token reads /metrics only; sign in with a member's token")
        }
        context.identified(caller)
        guard let session = await sessions.open(token: token, member: caller.member) else {
            throw DeskHTTPError(
                .serviceUnavailable,
                "the desk holds its most web sessions (\(sessions.capacity)): sign in again once some have ended")
        }
        let seconds = Int(settings.sessionLifetime.components.seconds)
        var cookie =
            "\(WebSessions.cookieName(for: request))=\(session.id); Path=/; Max-Age=\(seconds); HttpOnly; SameSite=Strict"
        if Self.isSecure(request) { cookie += "; Secure" }
        logger.info("web session opened", metadata: ["member": "\(caller.member)"])
        var response = DeskResponseEncoder.response(
            SessionReply(
                member: caller.member, admin: caller.isAdmin, expiresAt: session.expires, csrfToken: session.csrf),
            status: .ok)
        response.headers[.setCookie] = cookie
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Served over TLS (directly, or by a proxy that says so).
    static func isSecure(_ request: Request) -> Bool {
        request.uri.scheme == .https || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// Who is signed in, and until when. Not the CSRF value: the page carries it, and
    /// nothing else needs it after sign-in.
    @Sendable func whoAmI(_ request: Request, context: MemberContext) async throws -> SessionReply {
        let session = await WebSessions.cookie(of: request).asyncMap { await sessions.session(id: $0) }
        return SessionReply(
            member: context.caller.member, admin: context.caller.isAdmin, expiresAt: session??.expires, csrfToken: nil)
    }

    @Sendable func signOut(_ request: Request, context: MemberContext) async throws -> Response {
        if let id = WebSessions.cookie(of: request) { await sessions.close(id: id) }
        logger.info("web session closed", metadata: ["member": "\(context.caller.member)"])
        var response = Response(status: .noContent)
        var cleared = "\(WebSessions.cookieName(for: request))=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        if Self.isSecure(request) { cleared += "; Secure" }
        response.headers[.setCookie] = cleared
        return response
    }

    /// `GET /events[?log=NAME]`: each section of the page as an `event: section`
    /// (`{"id":…,"html":…}`) when it changed since the stream last sent it, looked
    /// at every `liveInterval` (else a comment line, so that a stream whose client is
    /// gone ends at its next write); `event: signed-out` and the end when the session or
    /// token stops being good. A stream holds one page's sections at most, and
    /// each write waits for the client to take the last: a slow reader costs
    /// only its own connection.
    @Sendable func events(_ request: Request, context: MemberContext) async throws -> Response {
        let parameters = QueryParameters(request)
        do { try parameters.check(allowed: ["log"]) } catch { throw DeskHTTPError(error) }
        let log = parameters.value("log")
        let caller = context.caller
        guard let slot = livePages.take(member: caller.member) else {
            throw DeskHTTPError(
                .tooManyRequests,
                "member \(caller.member) has \(livePages.perMember) live pages open, the most allowed; close one"
            )
        }
        let authorization = request.headers[.authorization]
        let cookie = WebSessions.cookie(of: request)
        let (desk, sessions, tokens, interval) = (desk, sessions, tokens, settings.liveInterval)
        let stillGood: @Sendable () async -> Bool = {
            if let authorization {
                return (try? await tokens.caller(authorization: authorization, claimedMember: nil)) != nil
            }
            guard let cookie, let session = await sessions.session(id: cookie) else { return false }
            return (try? await tokens.caller(authorization: "Bearer \(session.token)", claimedMember: nil)) != nil
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ResponseBody { writer in
                defer { slot.release() }
                var sent: [String: String] = [:]
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    guard await stillGood() else {
                        try await writer.write(ByteBuffer(string: "event: signed-out\ndata: {}\n\n"))
                        break
                    }
                    var wrote = false
                    for section in try await desk.sections(for: caller, log: log) where sent[section.id] != section.html
                    {
                        sent[section.id] = section.html
                        let data = WebDesk.json(section.id) + "," + "\"html\":" + WebDesk.json(section.html)
                        try await writer.write(ByteBuffer(string: "event: section\ndata: {\"id\":\(data)}\n\n"))
                        wrote = true
                    }
                    // A comment when nothing changed: a client that is gone fails the write, which ends the stream.
                    if !wrote { try await writer.write(ByteBuffer(string: ":\n\n")) }
                    do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) } } catch { break }
                }
                try await writer.finish(nil)
            })
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

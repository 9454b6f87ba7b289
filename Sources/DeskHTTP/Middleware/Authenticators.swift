import DeskIdentity
import DeskRunner
import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// The seed's self-declared member header.
let memberHeader = HTTPField.Name("X-User-ID")!

/// `Authorization: Bearer <token>`: the token's member, strategy and kind. A
/// request without the header passes on unidentified (the next authenticator,
/// or the route group's policy, decides); a bad token or an `X-User-ID` naming
/// another member is refused here.
struct BearerTokenAuthenticator: AuthenticatorMiddleware {
    typealias Context = DeskRequestContext
    let tokens: TokenAuthenticator

    func authenticate(request: Request, context: Context) async throws -> Caller? {
        guard let authorization = request.headers[.authorization] else { return nil }
        do {
            let caller = try await tokens.caller(
                authorization: authorization, claimedMember: request.headers[memberHeader])
            context.identified(caller)
            return caller
        } catch {
            throw DeskHTTPError(error)
        }
    }
}

/// Alpaca's key headers, as alpaca-py sends them: `APCA-API-KEY-ID` names the
/// member (or the token's id, as `desk tokens list` shows it) and
/// `APCA-API-SECRET-KEY` is the member's desk token. The identity is the token's:
/// a key id naming anyone else is refused, never believed. A request that has
/// neither header passes on; one with only one of them is refused.
struct AlpacaKeyAuthenticator: AuthenticatorMiddleware {
    typealias Context = DeskRequestContext
    static let keyIdHeader = HTTPField.Name("APCA-API-KEY-ID")!
    static let secretHeader = HTTPField.Name("APCA-API-SECRET-KEY")!
    let tokens: TokenAuthenticator

    func authenticate(request: Request, context: Context) async throws -> Caller? {
        let keyId = request.headers[Self.keyIdHeader]
        let secret = request.headers[Self.secretHeader]
        guard context.identity == nil, keyId != nil || secret != nil else { return nil }
        guard let keyId, let secret else {
            throw DeskHTTPError(
                .unauthorized,
                "send both APCA-API-KEY-ID (your member name) and APCA-API-SECRET-KEY (your desk token), or Authorization: Bearer <token>"
            )
        }
        do {
            let caller = try await tokens.caller(keyId: keyId, secret: secret)
            context.identified(caller)
            return caller
        } catch {
            throw DeskHTTPError(error)
        }
    }
}

/// Development mode only (`--trust-user-header`): a request without a token is
/// the member its `X-User-ID` names, or the seed's `default_user`, as the seed
/// trusted it. Any client can then trade as any member.
struct MemberHeaderAuthenticator: AuthenticatorMiddleware {
    typealias Context = DeskRequestContext

    func authenticate(request: Request, context: Context) async throws -> Caller? {
        guard context.identity == nil, request.headers[.authorization] == nil,
            request.headers[AlpacaKeyAuthenticator.keyIdHeader] == nil
        else { return nil }
        do {
            let caller = try TokenAuthenticator.developmentCaller(claimedMember: request.headers[memberHeader])
            context.identified(caller)
            return caller
        } catch {
            throw DeskHTTPError(error)
        }
    }
}

/// The web desk's session cookie (`desk_session`), when no bearer token was
/// sent: the member of the token the session was opened with, checked against
/// the ledger at every request (a revoked token ends the session). A request
/// that changes anything (POST, PUT, DELETE) must also send the session's
/// `X-CSRF-Token`, and an `Origin`, when sent, must be the desk's own.
struct SessionAuthenticator: AuthenticatorMiddleware {
    typealias Context = DeskRequestContext
    let tokens: TokenAuthenticator
    let sessions: WebSessions

    /// The header a session's state-changing requests carry.
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    func authenticate(request: Request, context: Context) async throws -> Caller? {
        guard context.identity == nil, request.headers[.authorization] == nil,
            let id = WebSessions.cookie(of: request)
        else { return nil }
        guard let session = await sessions.session(id: id) else {
            throw DeskHTTPError(
                .unauthorized, "your web session has expired or was signed out: sign in again with your token")
        }
        if ![.get, .head].contains(request.method) {
            guard let sent = request.headers[Self.csrfHeader], WebSessions.same(sent, session.csrf) else {
                throw DeskHTTPError(
                    .forbidden,
                    "a web session's \(request.method.rawValue) must carry the page's X-CSRF-Token header (a request from another site cannot)"
                )
            }
            try Self.checkOrigin(request)
        }
        let caller: Caller
        do {
            caller = try await tokens.caller(
                authorization: "Bearer \(session.token)", claimedMember: request.headers[memberHeader])
        } catch {
            if error.kind == .unauthenticated { await sessions.close(id: id) }
            throw DeskHTTPError(
                error.kind == .unauthenticated
                    ? IdentityError(
                        .unauthenticated, "the token this web session signed in with was revoked: sign in again")
                    : error)
        }
        context.identified(caller)
        return caller
    }

    /// Refuses an `Origin` other than the desk's own host.
    static func checkOrigin(_ request: Request) throws(DeskHTTPError) {
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        let stripped = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
        guard stripped == host else {
            throw DeskHTTPError(.forbidden, "a request from \(origin) may not act on this desk (\(host))")
        }
    }
}

/// The ways a request can say who it is, in the order they are tried: a bearer
/// token, the web desk's session cookie, and (development only) `X-User-ID`.
struct Authenticators: Sendable {
    let tokens: TokenAuthenticator
    let sessions: WebSessions
    let trustUserHeader: Bool
    /// A backtest in stream mode: strategies' requests pass it after authentication.
    var gate: StreamGate? = nil

    /// `group` with the authenticators in front of its routes (whose answers are
    /// private: never stored by a browser or a proxy), and in a stream backtest the
    /// gate that holds a strategy's request until its turn.
    func guarding(_ group: RouterGroup<DeskRequestContext>) -> RouterGroup<DeskRequestContext> {
        group.add(middleware: PrivateAnswers())
        group.add(middleware: BearerTokenAuthenticator(tokens: tokens))
        group.add(middleware: AlpacaKeyAuthenticator(tokens: tokens))
        group.add(middleware: SessionAuthenticator(tokens: tokens, sessions: sessions))
        if trustUserHeader { group.add(middleware: MemberHeaderAuthenticator()) }
        if let gate { group.add(middleware: StreamGateMiddleware(gate: gate)) }
        return group
    }
}

/// `Cache-Control: no-store` on every answer of the routes behind the
/// authenticators (orders, positions, the account, `/v2`, the session): they are
/// one caller's, and no browser cache or proxy may keep them.
struct PrivateAnswers: RouterMiddleware {
    typealias Context = DeskRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// A backtest in stream mode: a request of a strategy's token (`Caller.strategy`,
/// from the token, never from what the client sends) waits at the gate until the
/// driver reaches the turn of the line its strategy had read, and the gate learns
/// when its answer is done.
struct StreamGateMiddleware: RouterMiddleware {
    typealias Context = DeskRequestContext
    let gate: StreamGate

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let strategy = context.identity?.strategy, let ticket = await gate.enter(strategy: strategy) else {
            return try await next(request, context)
        }
        defer { gate.leave(ticket) }
        return try await next(request, context)
    }
}

import DeskIdentity
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
            context.requestLog.caller = caller
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
            context.requestLog.caller = caller
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
            context.requestLog.caller = caller
            return caller
        } catch {
            throw DeskHTTPError(error)
        }
    }
}

/// The ways a request can say who it is, in the order they are tried. Adding
/// one (a web session's cookie) is one more authenticator here.
struct Authenticators: Sendable {
    let tokens: TokenAuthenticator
    let trustUserHeader: Bool

    /// `group` with the authenticators in front of its routes.
    func guarding(_ group: RouterGroup<DeskRequestContext>) -> RouterGroup<DeskRequestContext> {
        group.add(middleware: BearerTokenAuthenticator(tokens: tokens))
        group.add(middleware: AlpacaKeyAuthenticator(tokens: tokens))
        if trustUserHeader { group.add(middleware: MemberHeaderAuthenticator()) }
        return group
    }
}

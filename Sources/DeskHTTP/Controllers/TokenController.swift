import DeskAPI
import DeskCore
import DeskServices
import Foundation
import Hummingbird

/// Tokens, for the admin (an admin group): list (never a secret), issue (the
/// secret shown once, in the reply), revoke (which also ends every web session
/// signed in with it, at its next request).
struct TokenController {
    let tokens: TokenAdministration

    func addRoutes(to router: some RouterMethods<AdminContext>) {
        router.on(Routes.tokens, use: list)
        router.on(Routes.issueToken, use: issue)
        router.on(Routes.revokeToken, use: revoke)
    }

    @Sendable func list(_ request: Request, context: AdminContext) async throws -> TokenList {
        try Self.noQuery(request)
        let listed = try await DeskHTTPError.translating { try await tokens.list(by: .caller(context.caller)) }
        return TokenList(tokens: listed.map(TokenView.init))
    }

    @Sendable func issue(_ request: Request, context: AdminContext) async throws -> IssuedTokenReply {
        let body = try await request.decode(as: TokenIssueRequest.self, context: context)
        let issued = try await DeskHTTPError.translating {
            // The member and strategy are checked before the kind, as they always were.
            let strategy = body.strategy ?? ""
            try TokenAdministration.check(
                issue: .member, member: body.member, strategy: strategy, by: .caller(context.caller))
            return try await tokens.issue(
                TokenKind(parsing: body.kind), member: body.member, strategy: strategy, venue: body.venue ?? "",
                by: .caller(context.caller))
        }
        return IssuedTokenReply(token: TokenView(issued.token), secret: issued.secret)
    }

    @Sendable func revoke(_ request: Request, context: AdminContext) async throws -> RevokeTokenReply {
        try Self.noQuery(request)
        let raw = try context.parameters.require("id")
        guard let id = Int64(raw), id > 0 else {
            throw DeskHTTPError(
                .badRequest, "token id \(OrderValidation.quoted(raw)) is not a token id (GET /admin/tokens lists them)")
        }
        let revocation = try await DeskHTTPError.translating {
            try await tokens.revoke(id: id, by: .caller(context.caller))
        }
        return RevokeTokenReply(id: id, revoked: revocation == .revoked)
    }

    /// Refuses any query parameter (the route takes none).
    static func noQuery(_ request: Request) throws(DeskHTTPError) {
        do { try QueryParameters(request).check(allowed: []) } catch { throw DeskHTTPError(error) }
    }
}

extension TokenView {
    /// A token as the admin API (and `desk tokens list --json`) lists it.
    public init(_ token: TokenSummary) {
        self.init(
            id: token.id, member: token.member, strategy: token.strategy, kind: token.kind.rawValue,
            issuedBy: token.issuedBy, createdAt: token.createdAt, revokedAt: token.revokedAt,
            venue: token.kind == .member && !token.venue.isEmpty ? token.venue : nil,
            role: token.kind.role?.rawValue)
    }
}

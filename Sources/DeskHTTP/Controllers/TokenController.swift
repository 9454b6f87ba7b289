import DeskAPI
import DeskCore
import DeskLedger
import Foundation
import Hummingbird

/// Tokens, for the admin (an admin group): list (never a secret), issue (the
/// secret shown once, in the reply), revoke (which also ends every web session
/// signed in with it, at its next request).
struct TokenController {
    let ledger: Ledger

    func addRoutes(to router: some RouterMethods<AdminContext>) {
        router.on(Routes.tokens, use: list)
        router.on(Routes.issueToken, use: issue)
        router.on(Routes.revokeToken, use: revoke)
    }

    static func view(_ record: TokenRecord) -> TokenView {
        TokenView(
            id: record.id ?? 0, member: record.member, strategy: record.strategy,
            kind: record.isAdmin ? "admin" : record.metricsOnly ? "metrics" : "member", issuedBy: record.issuedBy,
            createdAt: record.createdAt, revokedAt: record.revokedAt)
    }

    @Sendable func list(_ request: Request, context: AdminContext) async throws -> TokenList {
        try Self.noQuery(request)
        return TokenList(tokens: try await ledger.tokens().map(Self.view))
    }

    @Sendable func issue(_ request: Request, context: AdminContext) async throws -> IssuedTokenReply {
        let body = try await request.decode(as: TokenIssueRequest.self, context: context)
        guard Identifier.isSafe(body.member) else {
            throw DeskHTTPError(
                .badRequest, "member \(OrderValidation.quoted(body.member)) is not a member id: \(Identifier.rule)")
        }
        if let strategy = body.strategy, !strategy.isEmpty, !Identifier.isSafe(strategy) {
            throw DeskHTTPError(
                .badRequest, "strategy \(OrderValidation.quoted(strategy)) is not a strategy name: \(Identifier.rule)")
        }
        let kind = body.kind ?? "member"
        guard ["member", "admin", "metrics"].contains(kind) else {
            throw DeskHTTPError(
                .badRequest, "kind \(OrderValidation.quoted(kind)) is not one of: member, admin, metrics")
        }
        let issued = try await ledger.issueToken(
            member: body.member, strategy: body.strategy ?? "", isAdmin: kind == "admin",
            metricsOnly: kind == "metrics", issuer: .web)
        try await ledger.record(
            AuditEvent(
                at: Date(), member: body.member, strategy: body.strategy ?? "", action: .tokenIssue,
                outcome: .accepted,
                httpStatus: 200, detail: "id=\(issued.identity.tokenId) kind=\(kind) by=\(context.caller.member)"))
        let record = try await ledger.tokens().first { $0.id == issued.identity.tokenId }
        return IssuedTokenReply(token: record.map(Self.view)!, secret: issued.secret)
    }

    @Sendable func revoke(_ request: Request, context: AdminContext) async throws -> RevokeTokenReply {
        try Self.noQuery(request)
        let raw = try context.parameters.require("id")
        guard let id = Int64(raw), id > 0 else {
            throw DeskHTTPError(
                .badRequest, "token id \(OrderValidation.quoted(raw)) is not a token id (GET /admin/tokens lists them)")
        }
        guard let record = try await ledger.tokens().first(where: { $0.id == id }) else {
            throw DeskHTTPError(.notFound, "no token with id \(id)")
        }
        let revoked = try await ledger.revokeToken(id: id)
        try await ledger.record(
            AuditEvent(
                at: Date(), member: record.member, strategy: record.strategy, action: .tokenRevoke,
                outcome: revoked ? .accepted : .alreadyRevoked, httpStatus: 200,
                detail: "id=\(id) by=\(context.caller.member)"))
        return RevokeTokenReply(id: id, revoked: revoked)
    }

    /// Refuses any query parameter (the route takes none).
    static func noQuery(_ request: Request) throws(DeskHTTPError) {
        do { try QueryParameters(request).check(allowed: []) } catch { throw DeskHTTPError(error) }
    }
}

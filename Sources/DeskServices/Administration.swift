import DeskCore
import DeskIdentity
import DeskLedger
import DeskOrders
import Foundation

/// Why an administration request was refused; each face words and codes it its own way.
public enum AdminRefusal: Error, Sendable, Equatable {
    /// The caller is not an admin (a member's, strategy's or metrics token).
    case notAdmin
    /// A member id that is not one (`Identifier.rule`).
    case invalidMember(String)
    /// A strategy name that is not one (`Identifier.rule`).
    case invalidStrategy(String)
    /// A token kind the desk does not issue (`TokenKind.allCases` are).
    case unknownTokenKind(String)
    /// A metrics token reads `/metrics` and nothing else: it is bound to no strategy.
    case metricsTokenWithStrategy
    /// No token with this id (live or revoked).
    case tokenNotFound(id: Int64)
}

/// Who asks for an administration step.
public enum AdminActor: Sendable, Equatable {
    /// A caller identified by a token (the admin API, the page): only an admin may; audited.
    case caller(Caller)
    /// Whoever can write the ledger file (`desk tokens …`): the file's owner administers it.
    case ledgerOwner

    /// Refuses anyone but an admin or the ledger's owner.
    func checkAdmin() throws(AdminRefusal) {
        if case .caller(let caller) = self, !caller.isAdmin { throw .notAdmin }
    }
}

/// What a kill switch stops: the whole desk or one member's orders.
public enum HaltScope: Sendable, Equatable {
    case desk
    case member(String)

    /// The scope a request names: a member id, or nil for the whole desk.
    public init(member: String?) throws(AdminRefusal) {
        guard let member else {
            self = .desk
            return
        }
        guard Identifier.isSafe(member) else { throw .invalidMember(member) }
        self = .member(member)
    }

    /// The member, or nil for the whole desk.
    public var member: String? {
        if case .member(let member) = self { return member }
        return nil
    }

    /// How the ledger names the scope (`HaltRecord.scope`).
    public var key: String { member ?? HaltRecord.wholeDesk }
}

/// The kinds of token the desk issues by hand; a member's token bound to a
/// strategy is a `member` token with a strategy.
public enum TokenKind: String, Sendable, CaseIterable {
    /// Trades and reads as its member (and strategy, when bound to one).
    case member
    /// Reads everyone's figures and uses the admin API.
    case admin
    /// Reads `/metrics` and nothing else (for Prometheus).
    case metrics

    /// The kind a request names (default `member`).
    public init(parsing raw: String?) throws(AdminRefusal) {
        guard let kind = TokenKind(rawValue: raw ?? TokenKind.member.rawValue) else {
            throw .unknownTokenKind(raw ?? "")
        }
        self = kind
    }

    /// The kind of a stored token.
    init(_ record: TokenRecord) {
        self = record.isAdmin ? .admin : record.metricsOnly ? .metrics : .member
    }
}

/// A token as listed: never its secret.
public struct TokenSummary: Sendable, Equatable {
    public var id: Int64
    public var member: String
    /// Empty when bound to no strategy.
    public var strategy: String
    public var kind: TokenKind
    /// A `TokenIssuer` raw value: `cli`, `desk`, `supervisor` or `web`.
    public var issuedBy: String
    public var createdAt: Date
    public var revokedAt: Date?

    init(_ record: TokenRecord) {
        id = record.id ?? 0
        member = record.member
        strategy = record.strategy
        kind = TokenKind(record)
        issuedBy = record.issuedBy
        createdAt = record.createdAt
        revokedAt = record.revokedAt
    }
}

/// What a revocation did.
public enum Revocation: Sendable, Equatable {
    case revoked
    /// The token was revoked before.
    case alreadyRevoked
}

/// Token administration: issue (the secret once), revoke, list (never a secret).
public struct TokenAdministration: Sendable {
    let ledger: Ledger

    /// Tokens in `ledger`.
    public init(ledger: Ledger) { self.ledger = ledger }

    /// Tokens in the ledger file at `path`: `create` makes a new, empty ledger
    /// there when none exists (`desk tokens issue`), else a missing file is an
    /// error naming the path tried; `readOnly` opens it for reading only.
    public static func opening(ledgerAt path: String, create: Bool = false, readOnly: Bool = false) throws
        -> TokenAdministration
    {
        if readOnly { return TokenAdministration(ledger: try Ledger(readingExisting: path)) }
        return TokenAdministration(
            ledger: create ? try Ledger(path: path, groupCommit: false) : try Ledger(existing: path))
    }

    /// Checks a token request: who asks, for whom, of which kind. Pure.
    public static func check(issue kind: TokenKind, member: String, strategy: String, by actor: AdminActor)
        throws(AdminRefusal)
    {
        try actor.checkAdmin()
        guard Identifier.isSafe(member) else { throw .invalidMember(member) }
        if !strategy.isEmpty && !Identifier.isSafe(strategy) { throw .invalidStrategy(strategy) }
        if kind == .metrics && !strategy.isEmpty { throw .metricsTokenWithStrategy }
    }

    /// Every token, newest first.
    public func list(by actor: AdminActor) async throws -> [TokenSummary] {
        try actor.checkAdmin()
        return try await ledger.tokens().map(TokenSummary.init)
    }

    /// Issues a token; its secret is in the answer and nowhere else. An admin
    /// caller's issue is in the audit log.
    public func issue(_ kind: TokenKind, member: String, strategy: String, by actor: AdminActor) async throws
        -> (token: TokenSummary, secret: String)
    {
        try Self.check(issue: kind, member: member, strategy: strategy, by: actor)
        let issuer: TokenIssuer = actor == .ledgerOwner ? .cli : .web
        let issued = try await ledger.issueToken(
            member: member, strategy: strategy, isAdmin: kind == .admin, metricsOnly: kind == .metrics,
            issuer: issuer)
        let id = issued.identity.tokenId
        if case .caller(let caller) = actor {
            try await ledger.record(
                AuditEvent(
                    at: Date(), member: member, strategy: strategy, action: .tokenIssue, outcome: .accepted,
                    httpStatus: 200, detail: "id=\(id) kind=\(kind.rawValue) by=\(caller.member)"))
        }
        guard let record = try await ledger.tokens().first(where: { $0.id == id }) else {
            throw AdminRefusal.tokenNotFound(id: id)
        }
        return (TokenSummary(record), issued.secret)
    }

    /// Revokes token `id` (every web session signed in with it ends at its next
    /// request). An admin caller's revocation is in the audit log.
    public func revoke(id: Int64, by actor: AdminActor) async throws -> Revocation {
        try actor.checkAdmin()
        guard let record = try await ledger.tokens().first(where: { $0.id == id }) else {
            throw AdminRefusal.tokenNotFound(id: id)
        }
        let revoked = try await ledger.revokeToken(id: id)
        if case .caller(let caller) = actor {
            try await ledger.record(
                AuditEvent(
                    at: Date(), member: record.member, strategy: record.strategy, action: .tokenRevoke,
                    outcome: revoked ? .accepted : .alreadyRevoked, httpStatus: 200,
                    detail: "id=\(id) by=\(caller.member)"))
        }
        return revoked ? .revoked : .alreadyRevoked
    }
}

/// The kill switches: halt and resume the whole desk or one member, and list
/// those that are on. Only an admin may; each change is in the audit log.
public struct KillSwitches: Sendable {
    let desk: OrderDesk

    /// The kill switches of `desk`.
    public init(desk: OrderDesk) { self.desk = desk }

    /// Turns the switch for `scope` on; returns once it is durable.
    public func halt(_ scope: HaltScope, reason: String?, by caller: Caller) async throws {
        try AdminActor.caller(caller).checkAdmin()
        try await desk.halt(member: scope.member, reason: reason, by: caller.member, strategy: caller.strategy)
    }

    /// Turns the switch for `scope` off; false when it was not on.
    public func resume(_ scope: HaltScope, by caller: Caller) async throws -> Bool {
        try AdminActor.caller(caller).checkAdmin()
        return try await desk.resume(member: scope.member, by: caller.member, strategy: caller.strategy)
    }

    /// The switches that are on.
    public func active(for caller: Caller) async throws -> [HaltRecord] {
        try AdminActor.caller(caller).checkAdmin()
        return await desk.activeHalts()
    }
}

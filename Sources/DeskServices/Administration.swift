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
    /// A venue the desk does not have (`known` are its venues).
    case unknownVenue(String, known: [String])
    /// An admin, officer or metrics token is not bound to a strategy or a venue.
    case roleTokenWithVenue(TokenKind)
    /// Only an admin or an officer may do this (kill switches).
    case notOverseer
    /// A halt names more than one of member, venue and strategy.
    case ambiguousHaltScope
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

    /// Refuses anyone but an admin, an officer or the ledger's owner.
    func checkOversees() throws(AdminRefusal) {
        if case .caller(let caller) = self, !caller.oversees { throw .notOverseer }
    }
}

/// What a kill switch stops: the whole desk, one venue's orders, one member's
/// orders, or one strategy's orders. An order is refused when any scope that
/// covers it is halted.
public enum HaltScope: Sendable, Equatable {
    case desk
    case venue(String)
    case member(String)
    case strategy(String)

    /// The scope a request names: a member id, or nil for the whole desk.
    public init(member: String?) throws(AdminRefusal) {
        try self.init(member: member, venue: nil, strategy: nil)
    }

    /// The scope a request names: at most one of a member id, a venue (one of
    /// `venues` when those are given) and a strategy name; none is the whole desk.
    public init(member: String?, venue: String?, strategy: String?, venues: [String] = []) throws(AdminRefusal) {
        switch (member, venue, strategy) {
        case (nil, nil, nil): self = .desk
        case (let member?, nil, nil):
            guard Identifier.isSafe(member) else { throw .invalidMember(member) }
            self = .member(member)
        case (nil, let venue?, nil):
            guard Identifier.isSafe(venue), venues.isEmpty || venues.contains(venue) else {
                throw .unknownVenue(venue, known: venues)
            }
            self = .venue(venue)
        case (nil, nil, let strategy?):
            guard Identifier.isSafe(strategy) else { throw .invalidStrategy(strategy) }
            self = .strategy(strategy)
        default: throw .ambiguousHaltScope
        }
    }

    /// The member, or nil for any other scope.
    public var member: String? {
        if case .member(let member) = self { return member }
        return nil
    }

    /// How the ledger names the scope (`HaltRecord.scope`).
    public var key: String {
        switch self {
        case .desk: HaltRecord.wholeDesk
        case .venue(let venue): HaltRecord.venueScope(venue)
        case .member(let member): member
        case .strategy(let strategy): HaltRecord.strategyScope(strategy)
        }
    }
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
    /// Oversees members: approves promotions, halts and resumes, reads every
    /// member's figures; no tokens, no desk administration.
    case officer

    /// The kind a request names (default `member`).
    public init(parsing raw: String?) throws(AdminRefusal) {
        guard let kind = TokenKind(rawValue: raw ?? TokenKind.member.rawValue) else {
            throw .unknownTokenKind(raw ?? "")
        }
        self = kind
    }

    /// The kind of a stored token.
    init(_ record: TokenRecord) {
        self = record.isAdmin ? .admin : record.metricsOnly ? .metrics : record.officer ? .officer : .member
    }

    /// The role a token of this kind gives (a metrics token: none; it reads `/metrics` only).
    public var role: DeskRole? {
        switch self {
        case .member: .member
        case .officer: .officer
        case .admin: .admin
        case .metrics: nil
        }
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
    /// The venue the token trades on: as stored, or the desk's default venue (when
    /// known) for one stored without a venue (which trades on whichever is the default at use).
    public var venue: String

    init(_ record: TokenRecord) {
        venue = record.venue
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
/// A member's token is bound to one venue (`--venue`; none: the desk's default
/// venue at use, stored empty); only the admin (or the ledger's owner) administers tokens.
public struct TokenAdministration: Sendable {
    let ledger: Ledger
    /// The desk's venues, which a token's venue must be one of (empty: not checked here; the desk refuses at use).
    public let venueNames: [String]
    /// The desk's default venue (where a token issued without a venue trades), when known.
    public let defaultVenue: String

    /// Tokens in `ledger`, for a desk with `venueNames` and `defaultVenue`.
    public init(ledger: Ledger, venueNames: [String] = [], defaultVenue: String = "") {
        self.ledger = ledger
        self.venueNames = venueNames
        self.defaultVenue = defaultVenue
    }

    /// The same administration, knowing the desk's venues (the CLI reads them from the config file).
    public func knowing(venues: [String], defaultVenue: String) -> TokenAdministration {
        TokenAdministration(ledger: ledger, venueNames: venues, defaultVenue: defaultVenue)
    }

    /// `record` as listed, a member token issued without a venue showing the default venue.
    private func summary(_ record: TokenRecord) -> TokenSummary {
        var summary = TokenSummary(record)
        if summary.venue.isEmpty && summary.kind == .member { summary.venue = defaultVenue }
        return summary
    }

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

    /// Checks a token request: who asks, for whom, of which kind, on which venue
    /// (empty: the default; one of `venues` when those are known). Pure.
    public static func check(
        issue kind: TokenKind, member: String, strategy: String, venue: String = "", venues: [String] = [],
        by actor: AdminActor
    ) throws(AdminRefusal) {
        try actor.checkAdmin()
        guard Identifier.isSafe(member) else { throw .invalidMember(member) }
        if !strategy.isEmpty && !Identifier.isSafe(strategy) { throw .invalidStrategy(strategy) }
        if kind == .metrics && !strategy.isEmpty { throw .metricsTokenWithStrategy }
        if !venue.isEmpty {
            if kind != .member { throw .roleTokenWithVenue(kind) }
            if !Identifier.isSafe(venue) || (!venues.isEmpty && !venues.contains(venue)) {
                throw .unknownVenue(venue, known: venues)
            }
        }
    }

    /// Every token, newest first.
    public func list(by actor: AdminActor) async throws -> [TokenSummary] {
        try actor.checkAdmin()
        return try await ledger.tokens().map(summary)
    }

    /// Issues a token; its secret is in the answer and nowhere else. An admin
    /// caller's issue is in the audit log.
    public func issue(
        _ kind: TokenKind, member: String, strategy: String, venue: String = "", by actor: AdminActor
    ) async throws -> (token: TokenSummary, secret: String) {
        try Self.check(issue: kind, member: member, strategy: strategy, venue: venue, venues: venueNames, by: actor)
        let issuer: TokenIssuer = actor == .ledgerOwner ? .cli : .web
        let issued = try await ledger.issueToken(
            member: member, strategy: strategy, venue: venue, isAdmin: kind == .admin, isOfficer: kind == .officer,
            metricsOnly: kind == .metrics, issuer: issuer)
        let id = issued.identity.tokenId
        if case .caller(let caller) = actor {
            try await ledger.record(
                AuditEvent(
                    at: Date(), member: member, strategy: strategy, action: .tokenIssue, outcome: .accepted,
                    httpStatus: 200,
                    detail:
                        "id=\(id) kind=\(kind.rawValue)\(venue.isEmpty ? "" : " venue=\(venue)") by=\(caller.member)"))
        }
        guard let record = try await ledger.tokens().first(where: { $0.id == id }) else {
            throw AdminRefusal.tokenNotFound(id: id)
        }
        return (summary(record), issued.secret)
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

/// The kill switches: halt and resume the whole desk, a venue, a member or a
/// strategy, and list those that are on. Only an admin or an officer may; each
/// change is in the audit log.
public struct KillSwitches: Sendable {
    let desk: OrderDesk

    /// The kill switches of `desk`.
    public init(desk: OrderDesk) { self.desk = desk }

    /// The desk's venues (a venue halt must name one of them).
    public var venueNames: [String] { desk.venues.names }

    /// Turns the switch for `scope` on; returns once it is durable.
    public func halt(_ scope: HaltScope, reason: String?, by caller: Caller) async throws {
        try AdminActor.caller(caller).checkOversees()
        try await desk.halt(scope: scope.key, reason: reason, by: caller.member, strategy: caller.strategy)
    }

    /// Turns the switch for `scope` off; false when it was not on.
    public func resume(_ scope: HaltScope, by caller: Caller) async throws -> Bool {
        try AdminActor.caller(caller).checkOversees()
        return try await desk.resume(scope: scope.key, by: caller.member, strategy: caller.strategy)
    }

    /// The switches that are on.
    public func active(for caller: Caller) async throws -> [HaltRecord] {
        try AdminActor.caller(caller).checkOversees()
        return await desk.activeHalts()
    }
}

extension AdminRefusal {
    /// What the venue refusals say, in every face.
    public var message: String {
        switch self {
        case .unknownVenue(let venue, let known):
            known.isEmpty
                ? "venue \(OrderValidation.quoted(venue)) is not a venue name: \(Identifier.rule)"
                : "venue \(OrderValidation.quoted(venue)) is not one of this desk's venues: \(known.joined(separator: ", "))"
        case .notOverseer: "only an admin or an officer may turn kill switches on or off"
        case .ambiguousHaltScope:
            "a halt names one scope: a member, a venue or a strategy (or none of them for the whole desk), not several"
        case .roleTokenWithVenue(let kind):
            "\(kind == .metrics ? "a" : "an") \(kind.rawValue) token is not bound to a venue: only a member's token trades, on one venue"
        default: "\(self)"
        }
    }
}

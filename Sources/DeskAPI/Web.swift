import DeskCore
import Foundation

/// `POST /session`: signs in to the web desk with a token; the reply sets the session cookie.
public struct SessionRequest: APIRequestBody, Equatable {
    public var token: String

    public init(token: String) { self.token = token }

    public static let example = #"{"token": "desk_…"}"#
}

/// Who a session is: its member, whether it may use the admin API, when it
/// expires, and the value every state-changing request it makes must send as
/// `X-CSRF-Token`. Never the token.
public struct SessionReply: Codable, Sendable, Equatable {
    public var member: String
    public var admin: Bool
    public var expiresAt: Date?
    public var csrfToken: String?

    public init(member: String, admin: Bool, expiresAt: Date?, csrfToken: String?) {
        self.member = member
        self.admin = admin
        self.expiresAt = expiresAt
        self.csrfToken = csrfToken
    }

    enum CodingKeys: String, CodingKey {
        case member, admin, expiresAt = "expires_at", csrfToken = "csrf_token"
    }
}

/// `POST /admin/tokens`: a token for `member`, bound to `strategy` when given;
/// `kind` is `member` (default), `admin` or `metrics`.
public struct TokenIssueRequest: APIRequestBody, Equatable {
    public var member: String
    public var strategy: String?
    public var kind: String?
    /// The venue a member's token trades on (absent: the desk's default venue).
    public var venue: String?

    public init(member: String, strategy: String? = nil, kind: String? = nil, venue: String? = nil) {
        self.venue = venue
        self.member = member
        self.strategy = strategy
        self.kind = kind
    }

    public static let example = #"{"member": "alice", "kind": "member"}"#
}

/// One token as the admin sees it: never its secret.
public struct TokenView: Codable, Sendable, Equatable {
    public var id: Int64
    public var member: String
    public var strategy: String
    /// `member`, `admin`, `metrics` or `officer`.
    public var kind: String
    public var issuedBy: String
    public var createdAt: Date
    @Nullable public var revokedAt: Date?
    /// The venue it trades on (the desk's default venue for a token issued without one).
    public var venue: String?
    /// `member`, `officer` or `admin`; absent for a metrics token.
    public var role: String?

    public init(
        id: Int64, member: String, strategy: String, kind: String, issuedBy: String, createdAt: Date,
        revokedAt: Date?, venue: String? = nil, role: String? = nil
    ) {
        self.venue = venue
        self.role = role
        self.id = id
        self.member = member
        self.strategy = strategy
        self.kind = kind
        self.issuedBy = issuedBy
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, member, strategy, kind, issuedBy = "issued_by", createdAt = "created_at", revokedAt = "revoked_at"
        case venue, role
    }
}

/// `GET /admin/tokens`.
public struct TokenList: Codable, Sendable, Equatable {
    public var tokens: [TokenView]
    public init(tokens: [TokenView]) { self.tokens = tokens }
}

/// `POST /admin/tokens`: the new token, with its secret shown this once.
public struct IssuedTokenReply: Codable, Sendable, Equatable {
    public var token: TokenView
    public var secret: String

    public init(token: TokenView, secret: String) {
        self.token = token
        self.secret = secret
    }
}

/// `DELETE /admin/tokens/{id}`.
public struct RevokeTokenReply: Codable, Sendable, Equatable {
    public var id: Int64
    /// False when the token was already revoked.
    public var revoked: Bool

    public init(id: Int64, revoked: Bool) {
        self.id = id
        self.revoked = revoked
    }
}

/// The spacing of a P&L history's points: `1m`, `5m`, `15m`, `1h`, `1d`.
public enum PnLStep: String, QueryChoice, CaseIterable {
    case minute = "1m"
    case fiveMinutes = "5m"
    case fifteenMinutes = "15m"
    case hour = "1h"
    case day = "1d"

    public init?(argument: String) { self.init(rawValue: argument) }
    public var argument: String { rawValue }
    public static var spellings: [String] { allCases.map(\.rawValue) }

    /// The step in seconds.
    public var seconds: Int {
        switch self {
        case .minute: 60
        case .fiveMinutes: 300
        case .fifteenMinutes: 900
        case .hour: 3600
        case .day: 86_400
        }
    }
}

/// `GET /pnl` filters: whose equity (`member`: admins only), one strategy's
/// (`strategy`, a folder name), from when (`since`, default a day ago) and how
/// far apart (`step`, default `1m`).
public struct PnLQuery: Sendable, Equatable {
    public var member: String?
    public var strategy: String?
    public var since: Date?
    public var step: PnLStep
    /// Whose venue's curve (an officer's or admin's choice; a member's token reads its own).
    public var venue: String?

    public init(member: String? = nil, strategy: String? = nil, since: Date? = nil, step: PnLStep = .minute) {
        self.member = member
        self.strategy = strategy
        self.since = since
        self.step = step
    }

    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["member", "strategy", "since", "step", "venue"])
        self.init(
            member: try parameters.member(), strategy: parameters.value("strategy"),
            step: try parameters.choice("step", default: .minute))
        venue = try parameters.venue()
        if let raw = parameters.value("since") {
            guard let date = Timestamp.date(raw) else {
                throw QueryProblem(
                    "since \(OrderValidation.quoted(raw)) is not an ISO-8601 time such as 2026-11-25T14:30:00Z")
            }
            since = date
        }
        if let strategy, !Identifier.isSafe(strategy) {
            throw QueryProblem(
                "strategy \(OrderValidation.quoted(strategy)) is not a strategy name: \(Identifier.rule)")
        }
    }

    public var parameters: QueryParameters {
        var items: [(name: String, value: String)] = []
        if let member { items.append(("member", member)) }
        if let strategy { items.append(("strategy", strategy)) }
        if let since { items.append(("since", Timestamp.string(since))) }
        if step != .minute { items.append(("step", step.argument)) }
        return QueryParameters(items)
    }
}

/// One point of an equity curve: realized plus unrealized P&L at the prices the desk saw then.
public struct PnLPoint: Codable, Sendable, Equatable {
    public var at: Date
    public var equity: String
    public var realizedPnL: String
    public var unrealizedPnL: String

    public init(at: Date, equity: String, realizedPnL: String, unrealizedPnL: String) {
        self.at = at
        self.equity = equity
        self.realizedPnL = realizedPnL
        self.unrealizedPnL = unrealizedPnL
    }

    enum CodingKeys: String, CodingKey {
        case at, equity, realizedPnL = "realized_pnl", unrealizedPnL = "unrealized_pnl"
    }
}

/// `GET /pnl`: a member's (or one strategy's) equity over time, oldest first,
/// the last point of each step; `max_drawdown` is the largest fall from a peak.
public struct PnLHistory: Codable, Sendable, Equatable {
    public var member: String
    /// The venue whose book the curve is of.
    public var venue: String?
    @Nullable public var strategy: String?
    public var step: String
    public var points: [PnLPoint]
    public var maxDrawdown: String

    public init(
        member: String, strategy: String?, venue: String? = nil, step: String, points: [PnLPoint], maxDrawdown: String
    ) {
        self.venue = venue
        self.member = member
        self.strategy = strategy
        self.step = step
        self.points = points
        self.maxDrawdown = maxDrawdown
    }

    enum CodingKeys: String, CodingKey {
        case member, strategy, venue, step, points, maxDrawdown = "max_drawdown"
    }
}

import Foundation

/// `POST /strategies/{name}/promote`: the venue to move to, and a backtest report folder to attach.
public struct PromoteRequest: APIRequestBody, Equatable {
    /// The venue's name (`live`, `paper`).
    public var venue: String
    /// A folder `desk backtest --report DIR` wrote (or one holding such folders: the newest is taken).
    public var backtest: String?

    public init(venue: String, backtest: String? = nil) {
        self.venue = venue
        self.backtest = backtest
    }

    public static let example = #"{"venue": "live", "backtest": "/home/alice/reports/trend"}"#
}

/// `POST /approvals/{id}/reject`: why.
public struct RejectRequest: APIRequestBody, Equatable {
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public static let example = #"{"reason": "too few fills on paper"}"#
}

/// A backtest report's headline figures, as a promotion request keeps them.
public struct BacktestEvidence: Codable, Sendable, Equatable {
    /// The report's folder.
    public var path: String
    /// The last tick's time.
    public var end: String
    public var orders: Int
    public var fills: Int
    public var totalPnL: String
    public var maxDrawdown: String
    public var sharpe: String?

    enum CodingKeys: String, CodingKey {
        case path, end, orders, fills, sharpe, totalPnL = "total_pnl", maxDrawdown = "max_drawdown"
    }

    /// Figures as given.
    public init(
        path: String, end: String, orders: Int, fills: Int, totalPnL: String, maxDrawdown: String, sharpe: String?
    ) {
        self.path = path
        self.end = end
        self.orders = orders
        self.fills = fills
        self.totalPnL = totalPnL
        self.maxDrawdown = maxDrawdown
        self.sharpe = sharpe
    }

    /// The figures as the ledger stores them (one JSON object).
    public var stored: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Figures stored by `stored` (nil for anything else).
    public init?(stored: String) {
        guard let value = try? JSONDecoder().decode(Self.self, from: Data(stored.utf8)) else { return nil }
        self = value
    }
}

/// A strategy's record on the venue it comes from, money as decimal strings.
public struct EvidenceView: Codable, Sendable, Equatable {
    public var venue: String
    /// Calendar days from its first order there.
    public var days: Int
    public var orders: Int
    public var fills: Int
    public var pnl: String
    public var maxDrawdown: String
    /// Annualized, of daily P&L; nil under two days.
    public var sharpe: String?
    /// The attached backtest report's figures.
    public var backtest: BacktestEvidence?

    public init(
        venue: String, days: Int, orders: Int, fills: Int, pnl: String, maxDrawdown: String, sharpe: String?,
        backtest: BacktestEvidence?
    ) {
        self.venue = venue
        self.days = days
        self.orders = orders
        self.fills = fills
        self.pnl = pnl
        self.maxDrawdown = maxDrawdown
        self.sharpe = sharpe
        self.backtest = backtest
    }

    enum CodingKeys: String, CodingKey {
        case venue, days, orders, fills, pnl, sharpe, backtest, maxDrawdown = "max_drawdown"
    }

    /// Every key, `null` when there is no value (a reader sees what the evidence lacks).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(venue, forKey: .venue)
        try container.encode(days, forKey: .days)
        try container.encode(orders, forKey: .orders)
        try container.encode(fills, forKey: .fills)
        try container.encode(pnl, forKey: .pnl)
        try container.encode(maxDrawdown, forKey: .maxDrawdown)
        try container.encode(sharpe, forKey: .sharpe)
        try container.encode(backtest, forKey: .backtest)
    }
}

/// One promotion request (`desk approvals list --json` prints a list of these).
public struct ApprovalView: Codable, Sendable, Equatable {
    /// What `approve` and `reject` take.
    public var id: Int64
    public var member: String
    public var strategy: String
    public var fromVenue: String
    public var toVenue: String
    /// `pending`, `approved` or `rejected`.
    public var status: String
    public var requestedAt: Date
    public var requestedBy: String
    public var decidedBy: String?
    public var decidedAt: Date?
    /// Why it was rejected.
    public var reason: String?
    public var evidence: EvidenceView

    public init(
        id: Int64, member: String, strategy: String, fromVenue: String, toVenue: String, status: String,
        requestedAt: Date, requestedBy: String, decidedBy: String?, decidedAt: Date?, reason: String?,
        evidence: EvidenceView
    ) {
        self.id = id
        self.member = member
        self.strategy = strategy
        self.fromVenue = fromVenue
        self.toVenue = toVenue
        self.status = status
        self.requestedAt = requestedAt
        self.requestedBy = requestedBy
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.reason = reason
        self.evidence = evidence
    }

    enum CodingKeys: String, CodingKey {
        case id, member, strategy, status, reason, evidence
        case fromVenue = "from_venue", toVenue = "to_venue", requestedAt = "requested_at"
        case requestedBy = "requested_by", decidedBy = "decided_by", decidedAt = "decided_at"
    }

    /// Every key, `null` while undecided.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(member, forKey: .member)
        try container.encode(strategy, forKey: .strategy)
        try container.encode(fromVenue, forKey: .fromVenue)
        try container.encode(toVenue, forKey: .toVenue)
        try container.encode(status, forKey: .status)
        try container.encode(requestedAt, forKey: .requestedAt)
        try container.encode(requestedBy, forKey: .requestedBy)
        try container.encode(decidedBy, forKey: .decidedBy)
        try container.encode(decidedAt, forKey: .decidedAt)
        try container.encode(reason, forKey: .reason)
        try container.encode(evidence, forKey: .evidence)
    }
}

/// `GET /approvals`.
public struct ApprovalList: Codable, Sendable, Equatable {
    public var approvals: [ApprovalView]
    public init(approvals: [ApprovalView]) { self.approvals = approvals }
}

/// A strategy moved between venues, and what that did.
public struct MoveView: Codable, Sendable, Equatable {
    public var member: String
    public var strategy: String
    public var fromVenue: String
    public var toVenue: String
    /// Its working orders on the old venue, canceled.
    public var canceledOrders: [String]
    /// It was running and restarted on the new venue with a fresh token.
    public var restarted: Bool
    /// Open positions left in the old venue's book: symbol → quantity.
    public var positionsLeft: [String: String]
    /// "positions stay on paper: AAPL 10".
    public var positionsNote: String

    public init(
        member: String, strategy: String, fromVenue: String, toVenue: String, canceledOrders: [String],
        restarted: Bool, positionsLeft: [String: String], positionsNote: String
    ) {
        self.member = member
        self.strategy = strategy
        self.fromVenue = fromVenue
        self.toVenue = toVenue
        self.canceledOrders = canceledOrders
        self.restarted = restarted
        self.positionsLeft = positionsLeft
        self.positionsNote = positionsNote
    }

    enum CodingKeys: String, CodingKey {
        case member, strategy, restarted
        case fromVenue = "from_venue", toVenue = "to_venue", canceledOrders = "canceled_orders"
        case positionsLeft = "positions_left", positionsNote = "positions_note"
    }
}

/// What a promotion request, approval or rejection did: `status` is `pending` (an
/// approval waits), `moved`, or `rejected`; `message` says it in one sentence.
public struct PromoteReply: Codable, Sendable, Equatable {
    public var status: String
    public var message: String
    /// The approval made or decided, if any.
    public var approval: ApprovalView?
    /// The move, when the strategy moved.
    public var move: MoveView?

    public init(status: String, message: String, approval: ApprovalView?, move: MoveView?) {
        self.status = status
        self.message = message
        self.approval = approval
        self.move = move
    }
}

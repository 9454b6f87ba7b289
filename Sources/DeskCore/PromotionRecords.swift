import Foundation

// What the ledger keeps about promotions (table `approvals`); the rules that
// decide them are in DeskPromotion.

/// A strategy's record on one venue: what an officer judges a promotion on.
public struct PromotionEvidence: Sendable, Equatable {
    /// The venue the record was made on.
    public var venue: String
    /// Calendar days from the strategy's first order there to the request.
    public var days: Int
    public var orders: Int
    public var fills: Int
    /// Realized plus unrealized P&L there.
    public var pnl: Decimal
    /// Largest fall of equity from a peak, as a positive amount.
    public var maxDrawdown: Decimal
    /// Annualized Sharpe ratio of daily P&L; nil with fewer than two days.
    public var sharpe: Decimal?
    /// The folder of the latest backtest report the member attached, if any.
    public var backtest: String?

    /// A record as given.
    public init(
        venue: String, days: Int, orders: Int, fills: Int, pnl: Decimal, maxDrawdown: Decimal, sharpe: Decimal?,
        backtest: String? = nil
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
}

/// Where a promotion request stands.
public enum PromotionStatus: String, Sendable, Codable, CaseIterable {
    case pending, approved, rejected
}

/// A request to move a strategy to another venue that waits for an approval (table `approvals`).
public struct PromotionRequest: Sendable, Equatable {
    /// What `desk approvals approve` and `reject` take.
    public var id: Int64
    public var member: String
    public var strategy: String
    public var fromVenue: String
    public var toVenue: String
    /// Who asked: the member, or an officer or the admin on their behalf.
    public var requestedBy: String
    public var requestedAt: Date
    public var evidence: PromotionEvidence
    public var status: PromotionStatus
    public var decidedBy: String?
    public var decidedAt: Date?
    /// Why it was rejected.
    public var reason: String?

    /// A request as given (pending unless said otherwise).
    public init(
        id: Int64, member: String, strategy: String, fromVenue: String, toVenue: String, requestedBy: String,
        requestedAt: Date, evidence: PromotionEvidence, status: PromotionStatus = .pending, decidedBy: String? = nil,
        decidedAt: Date? = nil, reason: String? = nil
    ) {
        self.id = id
        self.member = member
        self.strategy = strategy
        self.fromVenue = fromVenue
        self.toVenue = toVenue
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.evidence = evidence
        self.status = status
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.reason = reason
    }
}

import DeskCore
import Foundation

/// The loss rules of one strategy, or of a member's whole book, on one venue
/// (`max_daily_loss`, `max_drawdown`, `max_position_value`). A nil rule is not checked.
public struct LossLimits: Sendable, Equatable {
    /// Largest fall of equity since the session's start, as a positive amount.
    public var maxDailyLoss: Decimal?
    /// Largest fall of equity from its peak on the venue, as a positive amount.
    public var maxDrawdown: Decimal?
    /// Largest market value of all open positions together (absolute, long and short).
    public var maxPositionValue: Decimal?
    /// What the desk does on a breach (after canceling the open orders).
    public var onBreach: BreachResponse

    public init(
        maxDailyLoss: Decimal? = nil, maxDrawdown: Decimal? = nil, maxPositionValue: Decimal? = nil,
        onBreach: BreachResponse = .demote
    ) {
        self.maxDailyLoss = maxDailyLoss
        self.maxDrawdown = maxDrawdown
        self.maxPositionValue = maxPositionValue
        self.onBreach = onBreach
    }

    /// True when no rule is set.
    public var isEmpty: Bool { maxDailyLoss == nil && maxDrawdown == nil && maxPositionValue == nil }
}

/// What the desk does to a strategy that broke a loss rule, besides canceling its open orders on the venue.
public enum BreachResponse: String, Sendable, Codable, CaseIterable {
    /// Stop the strategy.
    case stop
    /// Move it to the desk's paper venue.
    case demote
}

/// Which loss rule.
public enum LossRule: String, Sendable, Codable, CaseIterable {
    case maxDailyLoss = "max_daily_loss"
    case maxDrawdown = "max_drawdown"
    case maxPositionValue = "max_position_value"
}

/// Whose figures a loss rule watches: one strategy, or a member's whole book (`strategy` empty), on one venue.
public struct LossScope: Sendable, Hashable {
    public var member: String
    public var strategy: String
    public var venue: String

    public init(member: String, strategy: String = "", venue: String) {
        self.member = member
        self.strategy = strategy
        self.venue = venue
    }
}

/// The figures a loss rule reads, at one moment.
public struct LossFigures: Sendable, Equatable {
    /// Realized plus unrealized P&L on the venue, since the strategy (or member) started there.
    public var equity: Decimal
    /// `equity` at the start of the trading session.
    public var sessionStartEquity: Decimal
    /// Market value of the open positions, each taken as a positive amount.
    public var positionValue: Decimal

    public init(equity: Decimal, sessionStartEquity: Decimal, positionValue: Decimal) {
        self.equity = equity
        self.sessionStartEquity = sessionStartEquity
        self.positionValue = positionValue
    }
}

/// A broken loss rule: which, its limit, and the figure that broke it.
public struct LossBreach: Sendable, Equatable, CustomStringConvertible {
    public var rule: LossRule
    public var limit: Decimal
    public var value: Decimal

    public init(rule: LossRule, limit: Decimal, value: Decimal) {
        self.rule = rule
        self.limit = limit
        self.value = value
    }

    public var description: String {
        let what =
            switch rule {
            case .maxDailyLoss: "lost \(ExactDecimal.plain(value)) today"
            case .maxDrawdown: "fell \(ExactDecimal.plain(value)) from its peak"
            case .maxPositionValue: "holds positions worth \(ExactDecimal.plain(value))"
            }
        return "\(what), over its \(rule.rawValue) of \(ExactDecimal.plain(limit))"
    }
}

/// What the desk does about a breach.
public struct LossAction: Sendable, Equatable {
    public var scope: LossScope
    public var breach: LossBreach
    public var response: BreachResponse

    public init(scope: LossScope, breach: LossBreach, response: BreachResponse) {
        self.scope = scope
        self.breach = breach
        self.response = response
    }
}

/// Watches loss rules over the figures the desk sees (a value type: each
/// observation returns what to do; the caller performs it). Each scope keeps
/// its peak equity; a breached scope reports once, until `reset` (it was moved,
/// restarted or resumed).
public struct LossWatch: Sendable {
    private var peaks: [LossScope: Decimal] = [:]
    private var breached: Set<LossScope> = []

    public init() {}

    /// Notes `figures` of `scope`; returns the action when a rule breaks for the first time.
    public mutating func observe(_ figures: LossFigures, of scope: LossScope, limits: LossLimits) -> LossAction? {
        let peak = max(peaks[scope] ?? 0, figures.equity)
        peaks[scope] = peak
        guard !limits.isEmpty, !breached.contains(scope) else { return nil }
        guard let breach = Self.check(figures, peak: peak, limits: limits) else { return nil }
        breached.insert(scope)
        return LossAction(scope: scope, breach: breach, response: limits.onBreach)
    }

    /// Forgets `scope`'s breach and peak (it starts afresh, e.g. on another venue).
    public mutating func reset(_ scope: LossScope) {
        peaks[scope] = nil
        breached.remove(scope)
    }

    /// The peak equity seen for `scope`.
    public func peak(_ scope: LossScope) -> Decimal? { peaks[scope] }

    /// The first rule `figures` break (daily loss, then drawdown, then position value), if any.
    public static func check(_ figures: LossFigures, peak: Decimal, limits: LossLimits) -> LossBreach? {
        let dailyLoss = figures.sessionStartEquity - figures.equity
        if let limit = limits.maxDailyLoss, dailyLoss > limit {
            return LossBreach(rule: .maxDailyLoss, limit: limit, value: dailyLoss)
        }
        let drawdown = peak - figures.equity
        if let limit = limits.maxDrawdown, drawdown > limit {
            return LossBreach(rule: .maxDrawdown, limit: limit, value: drawdown)
        }
        if let limit = limits.maxPositionValue, figures.positionValue > limit {
            return LossBreach(rule: .maxPositionValue, limit: limit, value: figures.positionValue)
        }
        return nil
    }
}

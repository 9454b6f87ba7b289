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

    /// Raises `scope`'s peak to `equity` if it is higher (a peak the desk recorded before it restarted).
    public mutating func notePeak(_ equity: Decimal, of scope: LossScope) {
        peaks[scope] = max(peaks[scope] ?? 0, equity)
    }

    /// Watches `scope` again after a breach (its strategy was started again), keeping its peak.
    public mutating func rearm(_ scope: LossScope) {
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

/// One venue's loss rules: those each strategy on it keeps, and those each member's whole book on it keeps.
/// Both carry the venue's `on_breach`.
public struct VenueLossRules: Sendable, Equatable {
    /// The rules of each strategy on the venue.
    public var strategy: LossLimits
    /// The rules of each member's book on the venue (all their strategies and their own orders together).
    public var member: LossLimits

    public init(strategy: LossLimits, member: LossLimits) {
        self.strategy = strategy
        self.member = member
    }

    /// No rule, with the venue's default response: `stop` on the desk's paper venue, `demote` elsewhere.
    public static func none(venue: String, paperVenue: String) -> VenueLossRules {
        let response = defaultResponse(venue: venue, paperVenue: paperVenue)
        return VenueLossRules(strategy: LossLimits(onBreach: response), member: LossLimits(onBreach: response))
    }

    /// What a breach does unless the config says: a strategy cannot be demoted from paper, so it is stopped there.
    public static func defaultResponse(venue: String, paperVenue: String) -> BreachResponse {
        venue == paperVenue ? .stop : .demote
    }
}

/// Loss rules as one entry of the config file writes them (a venue's `loss`, or a member's override of it):
/// each rule set to a limit, removed (`null`, only meaningful in an override), or not mentioned.
public struct LossRulesEntry: Sendable, Equatable {
    /// The strategy rules the entry mentions: a limit, or nil to remove the rule.
    public var strategy: [LossRule: Decimal?]
    /// The member-book rules the entry mentions.
    public var member: [LossRule: Decimal?]
    /// `on_breach`, when given.
    public var onBreach: BreachResponse?

    public init(
        strategy: [LossRule: Decimal?] = [:], member: [LossRule: Decimal?] = [:], onBreach: BreachResponse? = nil
    ) {
        self.strategy = strategy
        self.member = member
        self.onBreach = onBreach
    }

    /// `base` with what this entry mentions set or removed.
    public func applied(to base: VenueLossRules) -> VenueLossRules {
        var rules = base
        for (rule, limit) in strategy { rules.strategy[rule] = limit }
        for (rule, limit) in member { rules.member[rule] = limit }
        if let onBreach {
            rules.strategy.onBreach = onBreach
            rules.member.onBreach = onBreach
        }
        return rules
    }
}

extension LossLimits {
    /// The limit of `rule` (nil: not checked).
    public subscript(rule: LossRule) -> Decimal? {
        get {
            switch rule {
            case .maxDailyLoss: maxDailyLoss
            case .maxDrawdown: maxDrawdown
            case .maxPositionValue: maxPositionValue
            }
        }
        set {
            switch rule {
            case .maxDailyLoss: maxDailyLoss = newValue
            case .maxDrawdown: maxDrawdown = newValue
            case .maxPositionValue: maxPositionValue = newValue
            }
        }
    }
}

/// Every loss rule of the desk: each venue's, and the members' overrides of them (already applied).
public struct LossPolicy: Sendable, Equatable {
    /// Each venue's rules, by venue name (venues without rules are not listed).
    public var venues: [String: VenueLossRules]
    /// A member's rules on a venue where they differ from the venue's: member → venue → rules.
    public var members: [String: [String: VenueLossRules]]
    /// The desk's paper venue (where a breach cannot demote).
    public var paperVenue: String

    /// No rules at all (a desk without `loss` entries: nothing is watched).
    public init(
        venues: [String: VenueLossRules] = [:], members: [String: [String: VenueLossRules]] = [:],
        paperVenue: String = "paper"
    ) {
        self.venues = venues
        self.members = members
        self.paperVenue = paperVenue
    }

    /// True when no venue and no member has a rule.
    public var isEmpty: Bool {
        venues.values.allSatisfy { $0.strategy.isEmpty && $0.member.isEmpty }
            && members.values.allSatisfy { $0.values.allSatisfy { $0.strategy.isEmpty && $0.member.isEmpty } }
    }

    /// The rules `member` keeps on `venue`.
    public func rules(member: String, venue: String) -> VenueLossRules {
        members[member]?[venue] ?? venues[venue] ?? .none(venue: venue, paperVenue: paperVenue)
    }

    /// The limits that watch `scope`: its strategy's, or (strategy empty) the member's book's.
    public func limits(_ scope: LossScope) -> LossLimits {
        let rules = rules(member: scope.member, venue: scope.venue)
        return scope.strategy.isEmpty ? rules.member : rules.strategy
    }

    /// The policy the config file's entries make: each venue's `loss`, and each member's overrides
    /// (member → venue → entry) applied over their venue's. Every venue named must be in `venueNames`;
    /// a venue's `on_breach` defaults to `stop` on `paperVenue` and `demote` elsewhere, and `demote` on
    /// the paper venue is refused (there is nowhere to demote to).
    public static func resolve(
        venues entries: [String: LossRulesEntry], members: [String: [String: LossRulesEntry]],
        venueNames: [String], paperVenue: String
    ) -> Result<LossPolicy, LossPolicyProblem> {
        let known = venueNames.sorted()
        var policy = LossPolicy(paperVenue: paperVenue)
        for (venue, entry) in entries.sorted(by: { $0.key < $1.key }) {
            if let problem = check(entry, venue: venue, at: "venues.\(venue).loss", known: known, paper: paperVenue) {
                return .failure(problem)
            }
            policy.venues[venue] = entry.applied(to: .none(venue: venue, paperVenue: paperVenue))
        }
        for (member, overrides) in members.sorted(by: { $0.key < $1.key }) {
            for (venue, entry) in overrides.sorted(by: { $0.key < $1.key }) {
                let path = "risk.members.\(member).loss.\(venue)"
                if let problem = check(entry, venue: venue, at: path, known: known, paper: paperVenue) {
                    return .failure(problem)
                }
                policy.members[member, default: [:]][venue] = entry.applied(
                    to: policy.rules(member: member, venue: venue))
            }
        }
        return .success(policy)
    }

    private static func check(
        _ entry: LossRulesEntry, venue: String, at path: String, known: [String], paper: String
    ) -> LossPolicyProblem? {
        guard known.contains(venue) else {
            return LossPolicyProblem(
                "\(path): \"\(venue)\" is not a configured venue: use one of \(known.joined(separator: ", "))")
        }
        if venue == paper && entry.onBreach == .demote {
            return LossPolicyProblem(
                "\(path).on_breach: a strategy on the paper venue \"\(paper)\" cannot be demoted: use \"stop\"")
        }
        return nil
    }
}

/// Why the config's loss rules cannot be used.
public struct LossPolicyProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong and what is allowed.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

extension LossFigures {
    /// The figures of a book: `positions` by symbol, each valued at `price(symbol)` (at its own cost
    /// when the desk has no price yet, so it adds no unrealized P&L), against `sessionStartEquity`.
    public init(
        positions: [String: Position], sessionStartEquity: Decimal, price: (String) -> Decimal?
    ) {
        var equity: Decimal = 0
        var value: Decimal = 0
        for (symbol, position) in positions {
            equity += position.realizedPnL
            guard position.qty != 0 else { continue }
            let mark = price(symbol) ?? (position.costBasis / position.qty)
            equity += position.unrealizedPnL(at: mark)
            value += position.marketValue(at: mark).magnitude
        }
        self.init(equity: equity, sessionStartEquity: sessionStartEquity, positionValue: value)
    }
}

/// A strategy the supervisor knows, as a breach sees it: whose, on which venue, and whether it runs.
public struct WatchedStrategy: Sendable, Equatable {
    public var name: String
    public var member: String
    public var venue: String
    /// Running or about to (starting, backing off before a restart); false once stopped or failed.
    public var isRunning: Bool

    public init(name: String, member: String, venue: String, isRunning: Bool) {
        self.name = name
        self.member = member
        self.venue = venue
        self.isRunning = isRunning
    }
}

/// An open order, as a breach sees it.
public struct WatchedOrder: Sendable, Equatable {
    public var orderId: String
    public var member: String
    public var strategy: String
    public var venue: String

    public init(orderId: String, member: String, strategy: String, venue: String) {
        self.orderId = orderId
        self.member = member
        self.strategy = strategy
        self.venue = venue
    }
}

/// What the desk does about one breach: whose open orders to cancel, the strategies to stop or demote.
/// A strategy's breach touches that strategy on the venue; a member book's breach, every strategy of
/// the member on the venue and all the member's orders there. Nothing to do (the strategy already
/// stopped or moved, no open order: a breach handled before a restart) is `isEmpty`: no action, no audit.
public struct LossBreachPlan: Sendable, Equatable {
    /// The strategies whose open orders on the venue are canceled, by name (empty: the member's own
    /// orders, placed without a strategy); only those with an open order there.
    public var cancel: [String]
    /// The strategies to stop or demote (running ones on the breach's venue), by name.
    public var strategies: [String]
    /// Stop or demote.
    public var response: BreachResponse

    public init(cancel: [String], strategies: [String], response: BreachResponse) {
        self.cancel = cancel
        self.strategies = strategies
        self.response = response
    }

    /// True when the breach leaves nothing to do.
    public var isEmpty: Bool { cancel.isEmpty && strategies.isEmpty }

    /// The plan for `action`, given the open orders and the strategies there are now.
    public static func plan(_ action: LossAction, open: [WatchedOrder], strategies: [WatchedStrategy])
        -> LossBreachPlan
    {
        let scope = action.scope
        func touches(member: String, strategy: String, venue: String) -> Bool {
            member == scope.member && venue == scope.venue && (scope.strategy.isEmpty || strategy == scope.strategy)
        }
        return LossBreachPlan(
            cancel: Set(
                open.filter { touches(member: $0.member, strategy: $0.strategy, venue: $0.venue) }.map(\.strategy)
            )
            .sorted(),
            strategies: strategies.filter {
                $0.isRunning && touches(member: $0.member, strategy: $0.name, venue: $0.venue)
            }.map(\.name).sorted(),
            response: action.response)
    }
}

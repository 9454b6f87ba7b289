import DeskCore
import Foundation

/// A query string that cannot be used: what was wrong and what is allowed.
public struct QueryProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A request's query parameters, read with the checks every route shares:
/// only known names, each once, and the seed-era `user` read as `member`.
public struct QueryParameters: Sendable {
    public var items: [(name: String, value: String)]

    public init(_ items: [(name: String, value: String)]) { self.items = items }

    /// Refuses names outside `allowed` (and `user`, the older name of `member`, where `member` is allowed).
    public func check(allowed: [String]) throws(QueryProblem) {
        let names = allowed.contains("member") ? allowed + ["user"] : allowed
        for item in items where !names.contains(item.name) {
            throw QueryProblem(
                "unknown query parameter \(OrderValidation.quoted(item.name)); allowed: \(allowed.joined(separator: ", "))"
            )
        }
        for name in names where items.filter({ $0.name == name }).count > 1 {
            throw QueryProblem("query parameter \(OrderValidation.quoted(name)) is given more than once")
        }
    }

    /// The value of `name`, if given.
    public func value(_ name: String) -> String? { items.first { $0.name == name }?.value }

    /// `venue=`: one venue's book (an officer's or admin's choice; a member's token reads its own).
    public func venue() throws(QueryProblem) -> String? {
        guard let venue = value("venue") else { return nil }
        guard Identifier.isSafe(venue) else {
            throw QueryProblem("venue \(OrderValidation.quoted(venue)) is not a venue name: \(Identifier.rule)")
        }
        return venue
    }

    /// `member=`, or the older `user=`; both at once is refused.
    public func member() throws(QueryProblem) -> String? {
        let (member, user) = (value("member"), value("user"))
        if member != nil && user != nil {
            throw QueryProblem("\"user\" is the older name of \"member\": give one of them, not both")
        }
        return member ?? user
    }

    /// A value that must be one of an enum's spellings, with a message listing them.
    public func choice<T: QueryChoice>(_ name: String, default value: T) throws(QueryProblem) -> T {
        guard let raw = self.value(name) else { return value }
        guard let chosen = T(argument: raw) else {
            throw QueryProblem(
                "\(name) \(OrderValidation.quoted(raw)) is not one of: \(T.spellings.joined(separator: ", "))")
        }
        return chosen
    }

    /// A whole number within `range`.
    public func number(_ name: String, default value: Int, range: ClosedRange<Int>) throws(QueryProblem) -> Int {
        guard let raw = self.value(name) else { return value }
        guard let number = Int(raw), range.contains(number) else {
            throw QueryProblem(
                "\(name) \(OrderValidation.quoted(raw)) must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            )
        }
        return number
    }

    /// `?a=1&b=x%20y` for these items (each value percent-encoded); empty when there are none.
    public var string: String {
        items.isEmpty
            ? ""
            : "?"
                + items.map { "\(Route.escapeSegment($0.name))=\(Route.escapeSegment($0.value))" }.joined(
                    separator: "&")
    }
}

/// A value with a fixed set of spellings, read the same way from a command-line
/// flag (the CLI makes these `ExpressibleByArgument`) and from a query parameter.
public protocol QueryChoice: Sendable {
    /// Reads one spelling; nil for anything else.
    init?(argument: String)
    /// The spelling of this value.
    var argument: String { get }
    /// Every spelling, for messages and help.
    static var spellings: [String] { get }
}

/// Which orders a listing shows: `open`, `closed`, `all`, or one status.
public enum OrderStatusFilter: QueryChoice, Hashable {
    case all, open, closed
    case exactly(OrderStatus)

    public init?(argument: String) {
        switch argument {
        case "all": self = .all
        case "open": self = .open
        case "closed": self = .closed
        default:
            guard let status = OrderStatus(rawValue: argument) else { return nil }
            self = .exactly(status)
        }
    }

    public var argument: String {
        switch self {
        case .all: "all"
        case .open: "open"
        case .closed: "closed"
        case .exactly(let status): status.rawValue
        }
    }

    public static var spellings: [String] { ["open", "closed", "all"] + OrderStatus.allCases.map(\.rawValue) }
}

/// One row per member's symbol, or per strategy's.
public enum PositionGrouping: String, QueryChoice, CaseIterable {
    case member, strategy

    public init?(argument: String) { self.init(rawValue: argument) }
    public var argument: String { rawValue }
    public static var spellings: [String] { allCases.map(\.rawValue) }
}

/// `GET /orders` filters.
public struct OrdersQuery: Sendable, Equatable {
    /// Whose orders (admins only; a member always reads their own).
    public var member: String?
    public var status: OrderStatusFilter
    public var symbol: String?
    /// Orders created at or after this time.
    public var since: Date?
    public var limit: Int
    /// One venue's orders (nil: every venue the caller may read).
    public var venue: String?

    /// Most orders one listing returns.
    public static let maximumLimit = 10_000

    public init(
        member: String? = nil, status: OrderStatusFilter = .all, symbol: String? = nil, since: Date? = nil,
        limit: Int = 100, venue: String? = nil
    ) {
        self.venue = venue
        self.member = member
        self.status = status
        self.symbol = symbol
        self.since = since
        self.limit = limit
    }

    /// Reads `status`, `symbol`, `since`, `limit` and `member` (or `user`).
    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["status", "symbol", "since", "limit", "member", "venue"])
        self.init(
            member: try parameters.member(), status: try parameters.choice("status", default: .all),
            symbol: parameters.value("symbol"),
            limit: try parameters.number("limit", default: 100, range: 1...Self.maximumLimit),
            venue: try parameters.venue())
        if let raw = parameters.value("since") {
            guard let date = Timestamp.date(raw) else {
                throw QueryProblem(
                    "since \(OrderValidation.quoted(raw)) is not an ISO-8601 time such as 2026-11-25T14:30:00Z")
            }
            since = date
        }
    }

    /// The query string that asks for this.
    public var parameters: QueryParameters {
        var items: [(name: String, value: String)] = []
        if let member { items.append(("member", member)) }
        if status != .all { items.append(("status", status.argument)) }
        if let symbol { items.append(("symbol", symbol)) }
        if let since { items.append(("since", Timestamp.string(since))) }
        if limit != 100 { items.append(("limit", "\(limit)")) }
        if let venue { items.append(("venue", venue)) }
        return QueryParameters(items)
    }
}

/// `GET /positions` filters.
public struct PositionsQuery: Sendable, Equatable {
    public var member: String?
    public var grouping: PositionGrouping
    /// One venue's book (nil: every venue the caller may read).
    public var venue: String?

    public init(member: String? = nil, grouping: PositionGrouping = .member, venue: String? = nil) {
        self.member = member
        self.grouping = grouping
        self.venue = venue
    }

    /// Reads `by`, `venue` and `member` (or `user`).
    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["member", "by", "venue"])
        self.init(
            member: try parameters.member(), grouping: try parameters.choice("by", default: .member),
            venue: try parameters.venue())
    }

    public var parameters: QueryParameters {
        var items: [(name: String, value: String)] = []
        if let member { items.append(("member", member)) }
        if grouping != .member { items.append(("by", grouping.argument)) }
        if let venue { items.append(("venue", venue)) }
        return QueryParameters(items)
    }
}

/// `GET /account` filters.
public struct AccountQuery: Sendable, Equatable {
    public var member: String?
    /// One venue's book (nil: the token's venue for a member; every venue for an officer or admin).
    public var venue: String?

    public init(member: String? = nil, venue: String? = nil) {
        self.member = member
        self.venue = venue
    }

    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["member", "venue"])
        self.init(member: try parameters.member(), venue: try parameters.venue())
    }

    public var parameters: QueryParameters {
        var items: [(name: String, value: String)] = []
        if let member { items.append(("member", member)) }
        if let venue { items.append(("venue", venue)) }
        return QueryParameters(items)
    }
}

/// `GET /admin/strategies/{name}/logs` options.
public struct StrategyLogQuery: Sendable, Equatable {
    /// Lines from the end of the log.
    public var tail: Int
    /// Keep the answer open and send new lines as text.
    public var follow: Bool

    /// Most lines one answer starts with.
    public static let maximumTail = 100_000

    public init(tail: Int = 100, follow: Bool = false) {
        self.tail = tail
        self.follow = follow
    }

    public init(_ parameters: QueryParameters) throws(QueryProblem) {
        try parameters.check(allowed: ["tail", "follow"])
        self.init(
            tail: try parameters.number("tail", default: 100, range: 0...Self.maximumTail),
            follow: parameters.value("follow") == "1")
    }

    public var parameters: QueryParameters {
        QueryParameters([("tail", "\(tail)")] + (follow ? [("follow", "1")] : []))
    }
}

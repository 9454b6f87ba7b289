import DeskCore
import Foundation

/// `POST /admin/halt`: `{"member": "alice"?, "reason": "…"?}`; no member halts
/// the whole desk. The seed-era `"user"` is read as `"member"`.
public struct HaltRequest: APIRequestBody, Equatable {
    public var member: String?
    public var reason: String?
    /// Halt one venue's orders instead (at most one of member, venue, strategy).
    public var venue: String?
    /// Halt one strategy's orders instead.
    public var strategy: String?

    public init(member: String? = nil, reason: String? = nil, venue: String? = nil, strategy: String? = nil) {
        self.member = member
        self.reason = reason
        self.venue = venue
        self.strategy = strategy
    }

    public static let example = #"{"member": "alice", "reason": "runaway"}"#

    public init(from decoder: any Decoder) throws {
        member = try decoder.decodeIfPresent(String.self, "member", alias: "user")
        let container = try decoder.container(keyedBy: NamedKey.self)
        reason = try container.decodeIfPresent(String.self, forKey: NamedKey("reason"))
        venue = try container.decodeIfPresent(String.self, forKey: NamedKey("venue"))
        strategy = try container.decodeIfPresent(String.self, forKey: NamedKey("strategy"))
    }
}

/// `POST /admin/resume`: `{"member": "alice"?}`; no member resumes the whole desk.
public struct ResumeRequest: APIRequestBody, Equatable {
    public var member: String?
    /// Resume one venue instead (at most one of member, venue, strategy).
    public var venue: String?
    /// Resume one strategy instead.
    public var strategy: String?

    public init(member: String? = nil, venue: String? = nil, strategy: String? = nil) {
        self.member = member
        self.venue = venue
        self.strategy = strategy
    }

    public static let example = #"{"member": "alice"}"#

    public init(from decoder: any Decoder) throws {
        member = try decoder.decodeIfPresent(String.self, "member", alias: "user")
        let container = try decoder.container(keyedBy: NamedKey.self)
        venue = try container.decodeIfPresent(String.self, forKey: NamedKey("venue"))
        strategy = try container.decodeIfPresent(String.self, forKey: NamedKey("strategy"))
    }
}

/// What a halt or resume did: `halted`, `resumed` or `not_halted`, for a member or `*` (the whole desk).
public struct HaltReply: Codable, Sendable, Equatable {
    public var status: String
    public var scope: String

    public init(status: String, scope: String) {
        self.status = status
        self.scope = scope
    }
}

/// A kill switch that is on.
public struct HaltView: Codable, Sendable, Equatable {
    /// A member, or `*` for the whole desk.
    public var scope: String
    public var reason: String?
    public var haltedBy: String?
    public var haltedAt: Date

    public init(scope: String, reason: String?, haltedBy: String?, haltedAt: Date) {
        self.scope = scope
        self.reason = reason
        self.haltedBy = haltedBy
        self.haltedAt = haltedAt
    }

    enum CodingKeys: String, CodingKey {
        case scope, reason, haltedBy = "halted_by", haltedAt = "halted_at"
    }
}

/// `GET /admin/halts`: `{"halts": [...]}`.
public struct HaltList: Codable, Sendable, Equatable {
    public var halts: [HaltView]
    public init(halts: [HaltView]) { self.halts = halts }
}

/// `POST /admin/prices`: `{"symbol": "AAPL", "price": "145.50", "size": "100"?}`, decimals as strings;
/// optionally a quote — `bid`, `ask`, `bid_size`, `ask_size` — and `type` (`trade`, the default, or
/// `quote`: a quote alone, whose `price` may be left out when it has both `bid` and `ask`).
public struct PriceRequest: APIRequestBody, Equatable {
    public var symbol: String
    public var price: String?
    public var size: String?
    public var bid: String?
    public var ask: String?
    public var bidSize: String?
    public var askSize: String?
    public var type: String?

    public init(
        symbol: String, price: String?, size: String? = nil, bid: String? = nil, ask: String? = nil,
        bidSize: String? = nil, askSize: String? = nil, type: String? = nil
    ) {
        self.symbol = symbol
        self.price = price
        self.size = size
        self.bid = bid
        self.ask = ask
        self.bidSize = bidSize
        self.askSize = askSize
        self.type = type
    }

    enum CodingKeys: String, CodingKey {
        case symbol, price, size, bid, ask, type
        case bidSize = "bid_size"
        case askSize = "ask_size"
    }

    public static let example = #"{"symbol": "AAPL", "price": "145.50"}"#
}

/// The price the market now has.
public struct PriceReply: Codable, Sendable, Equatable {
    public var status: String
    public var symbol: String
    public var price: String

    public init(symbol: String, price: String) {
        status = "ok"
        self.symbol = symbol
        self.price = price
    }
}

/// `GET /healthz`.
public struct Health: Codable, Sendable, Equatable {
    public var status: String
    /// `paper` or `alpaca`.
    public var broker: String
    /// The market data source, `none` without one.
    public var feed: String
    /// `running`, `ended`, `failed: <why>`, …
    public var feedState: String

    public init(broker: String, feed: String, feedState: String) {
        status = "ok"
        self.broker = broker
        self.feed = feed
        self.feedState = feedState
    }

    enum CodingKeys: String, CodingKey {
        case status, broker, feed, feedState = "feed_state"
    }
}
